package amqp

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// fuzzHandshake is a client's opening up to open-ok, as user fuzz (net.Pipe
// is not loopback, so guest may not log in).
func fuzzHandshake() []byte {
	b := []byte(wire.ProtocolHeader)
	b = appendMethods(b, 0,
		&wire.ConnectionStartOk{ClientProperties: core.Table{"capabilities": core.Table{"consumer_cancel_notify": true,
			"connection.blocked": true}}, Mechanism: "PLAIN", Response: []byte("\x00fuzz\x00fuzz"), Locale: "en_US"},
		&wire.ConnectionTuneOk{ChannelMax: 16, FrameMax: 8192, Heartbeat: 0},
		&wire.ConnectionOpen{VirtualHost: "/"})
	return b
}

func appendMethods(b []byte, ch uint16, ms ...wire.Method) []byte {
	for _, m := range ms {
		var err error
		if b, err = wire.AppendMethodFrame(b, ch, m); err != nil {
			panic(err)
		}
	}
	return b
}

func appendPublish(b []byte, ch uint16, p *wire.BasicPublish, props *wire.Properties, body string) []byte {
	b, err := wire.AppendContent(b, ch, p, props, []byte(body), 8192)
	if err != nil {
		panic(err)
	}
	return b
}

// fuzzSeeds are sessions a client might have: each a valid conversation
// the fuzzer mutates.
func fuzzSeeds() [][]byte {
	open := appendMethods(fuzzHandshake(), 1, &wire.ChannelOpen{})
	declare := appendMethods(open, 1, &wire.QueueDeclare{Queue: "fz", AutoDelete: true,
		Arguments: core.Table{"x-max-length": int32(5), "x-message-ttl": int64(1000)}})
	seeds := [][]byte{
		[]byte(wire.ProtocolHeader),
		fuzzHandshake(),
		append(fuzzHandshake(), appendMethods(nil, 0, &wire.ConnectionClose{ReplyCode: 200})...),
		appendMethods(open, 1, &wire.ChannelClose{ReplyCode: 200}),
		appendPublish(appendMethods(declare, 1, &wire.ConfirmSelect{}), 1,
			&wire.BasicPublish{RoutingKey: "fz", Mandatory: true},
			&wire.Properties{ContentType: "text/plain", Headers: core.Table{"a": int32(1)}, DeliveryMode: 2}, "hello"),
		appendMethods(appendPublish(declare, 1, &wire.BasicPublish{RoutingKey: "fz"}, nil, "x"), 1,
			&wire.BasicQos{PrefetchCount: 1}, &wire.BasicConsume{Queue: "fz", ConsumerTag: "c"},
			&wire.BasicAck{DeliveryTag: 1}, &wire.BasicCancel{ConsumerTag: "c"}),
		appendMethods(appendPublish(appendMethods(declare, 1, &wire.TxSelect{}), 1, &wire.BasicPublish{RoutingKey: "fz"}, nil, "t"),
			1, &wire.TxCommit{}, &wire.BasicGet{Queue: "fz"}, &wire.BasicNack{DeliveryTag: 1, Requeue: true},
			&wire.TxRollback{}),
		appendMethods(open, 1, &wire.ExchangeDeclare{Exchange: "fx", Type: "topic"},
			&wire.ExchangeBind{Destination: "fx", Source: "amq.topic", RoutingKey: "#"},
			&wire.BasicConsume{Queue: "amq.rabbitmq.reply-to", NoAck: true},
			&wire.ChannelFlow{Active: false}, &wire.BasicRecover{Requeue: true}),
	}
	return seeds
}

// FuzzAMQPServeConn feeds arbitrary bytes to a connection: whatever they
// are, the server neither crashes nor hangs, and the connection's
// goroutines end when the client goes.
func FuzzAMQPServeConn(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	st := store.NewMemory()
	b, err := core.New(core.Config{Store: st})
	if err != nil {
		f.Fatal(err)
	}
	for _, step := range []error{b.AddVHost("/"), b.PutUser("fuzz", "fuzz", nil),
		b.SetPermissions("fuzz", "/", ".*", ".*", ".*")} {
		if step != nil {
			f.Fatal(step)
		}
	}
	srv := New(Config{HandshakeTimeout: 2 * time.Second, FrameMax: 8192}, b, nil)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(served)
		}()
		drained := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, client)
			close(drained)
		}()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(data)
		client.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatalf("ServeConn did not return after the client went, input %q", data)
		}
		<-drained
	})
}
