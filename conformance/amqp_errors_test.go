package conformance

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPChannelErrors forces each channel exception through the client:
// the channel closes with the code and RabbitMQ's text, the connection
// stays open.
func TestAMQPChannelErrors(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn := dialAMQP(t, s)
	other := dialAMQP(t, s)
	open := func() *amqp.Channel {
		ch, err := conn.Channel()
		must(t, err)
		return ch
	}
	t.Run("404 NOT_FOUND", func(t *testing.T) {
		_, err := open().QueueDeclarePassive("missing", false, false, false, false, nil)
		wantAMQPError(t, err, 404, "NOT_FOUND - no queue 'missing' in vhost '/'")
		err = open().ExchangeDeclarePassive("nox", "direct", false, false, false, false, nil)
		wantAMQPError(t, err, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'")
		err = open().Publish("nox", "k", false, false, amqp.Publishing{})
		if err == nil { // publish is asynchronous: the close comes after
			ch := open()
			closed := ch.NotifyClose(make(chan *amqp.Error, 1))
			must(t, ch.Publish("nox", "k", false, false, amqp.Publishing{}))
			wantAMQPError(t, <-closed, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'")
		}
	})
	t.Run("403 ACCESS_REFUSED", func(t *testing.T) {
		_, err := open().QueueDeclare("amq.mine", false, false, false, false, nil)
		wantAMQPError(t, err, 403, "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'")
		err = open().ExchangeDeclare("", "direct", false, false, false, false, nil)
		wantAMQPError(t, err, 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
	})
	t.Run("405 RESOURCE_LOCKED", func(t *testing.T) {
		q, err := open().QueueDeclare("", false, false, true, false, nil)
		must(t, err)
		och, err := other.Channel()
		must(t, err)
		_, err = och.QueueDeclarePassive(q.Name, false, false, true, false, nil)
		wantAMQPError(t, err, 405, "")
		if !strings.HasPrefix(err.(*amqp.Error).Reason, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '"+q.Name+"'") {
			t.Fatalf("text %q", err.(*amqp.Error).Reason)
		}
	})
	t.Run("406 PRECONDITION_FAILED", func(t *testing.T) {
		ch := open()
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		must(t, ch.Ack(99, false))
		wantAMQPError(t, <-closed, 406, "PRECONDITION_FAILED - unknown delivery tag 99")
		ch = open()
		_, err := ch.QueueDeclare(qname(t, "d"), true, false, false, false, nil)
		must(t, err)
		_, err = open().QueueDeclare(qname(t, "d"), false, false, false, false, nil)
		wantAMQPError(t, err, 406, "")
	})
	if conn.IsClosed() {
		t.Fatal("a channel error closed the connection")
	}
	ch := open()
	_, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
}

// connectionError runs fn on a fresh connection and checks that it ends
// with the connection exception code and, if not empty, text.
func connectionError(t *testing.T, s *server, code int, text string, fn func(*amqp.Connection, *amqp.Channel) error) {
	t.Helper()
	conn, ch := amqpChannel(t, s)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	err := fn(conn, ch)
	if err == nil || amqpCode(err) == 0 {
		select {
		case e := <-closed:
			wantAMQPError(t, e, code, text)
			return
		case <-time.After(10 * time.Second):
			t.Fatalf("connection not closed (fn: %v)", err)
		}
	}
	wantAMQPError(t, err, code, text)
	select {
	case e := <-closed:
		if e == nil || e.Code != code {
			t.Fatalf("connection closed with %v, want %d", e, code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed")
	}
}

// TestAMQPConnectionErrorsClient forces connection exceptions through the
// client.
func TestAMQPConnectionErrorsClient(t *testing.T) {
	s := startAMQPServer(t, options{})
	t.Run("503 COMMAND_INVALID", func(t *testing.T) {
		connectionError(t, s, 503, "COMMAND_INVALID - invalid exchange type 'bogus'", func(_ *amqp.Connection, ch *amqp.Channel) error {
			return ch.ExchangeDeclare("x", "bogus", false, false, false, false, nil)
		})
	})
	t.Run("530 NOT_ALLOWED reused tag", func(t *testing.T) {
		connectionError(t, s, 530, "NOT_ALLOWED - attempt to reuse consumer tag 'c'", func(_ *amqp.Connection, ch *amqp.Channel) error {
			q, err := ch.QueueDeclare("", false, true, true, false, nil)
			must(t, err)
			_, err = ch.Consume(q.Name, "c", false, false, false, false, nil)
			must(t, err)
			_, err = ch.Consume(q.Name, "c", false, false, false, false, nil)
			return err
		})
	})
	t.Run("540 NOT_IMPLEMENTED", func(t *testing.T) {
		connectionError(t, s, 540, "NOT_IMPLEMENTED - requeue=false", func(_ *amqp.Connection, ch *amqp.Channel) error {
			return ch.Recover(false)
		})
		connectionError(t, s, 540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)", func(_ *amqp.Connection, ch *amqp.Channel) error {
			return ch.Qos(1, 10, false)
		})
		connectionError(t, s, 540, "", func(_ *amqp.Connection, ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(qname(t, "stream"), true, false, false, false, amqp.Table{"x-queue-type": "stream"})
			return err
		})
		connectionError(t, s, 540, "NOT_IMPLEMENTED - immediate=true", func(_ *amqp.Connection, ch *amqp.Channel) error {
			return ch.Publish("", "q", false, true, amqp.Publishing{})
		})
	})
	t.Run("506 RESOURCE_ERROR", func(t *testing.T) {
		connectionError(t, s, 506, "", func(_ *amqp.Connection, ch *amqp.Channel) error {
			must(t, ch.Tx())
			body := bytes.Repeat([]byte("x"), 1<<20)
			for range 130 {
				if err := ch.Publish("", "q", false, false, amqp.Publishing{Body: body}); err != nil {
					return err
				}
			}
			return ch.TxCommit()
		})
	})
	t.Run("320 CONNECTION_FORCED", func(t *testing.T) {
		conn := dialAMQP(t, s)
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		s.stop()
		wantAMQPError(t, <-closed, 320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
	})
}

// TestAMQPConnectionErrorsRaw forces the connection exceptions no client
// library lets an application cause, with raw frames.
func TestAMQPConnectionErrorsRaw(t *testing.T) {
	s := startAMQPServer(t, options{})
	t.Run("402 INVALID_PATH", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{noOpen: true})
		r.send(0, &wire.ConnectionOpen{VirtualHost: strings.Repeat("v", 128)})
		r.expectConnectionClose(402, "")
	})
	t.Run("530 NOT_ALLOWED vhost", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{noOpen: true})
		r.send(0, &wire.ConnectionOpen{VirtualHost: "/nope"})
		r.expectConnectionClose(530, "NOT_ALLOWED - vhost '/nope' not found")
	})
	t.Run("501 FRAME_ERROR frame over frame_max", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{frameMax: 4096})
		r.openChannel(1)
		frame := wire.AppendFrame(nil, wire.Frame{Type: wire.FrameBody, Channel: 1, Payload: make([]byte, 5000)})
		r.write(frame)
		r.expectConnectionClose(501, "")
	})
	t.Run("501 FRAME_ERROR bad frame end", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		b, _ := wire.AppendMethodFrame(nil, 1, &wire.ChannelOpen{})
		b[len(b)-1] = 0
		r.write(b)
		r.expectConnectionClose(501, "")
	})
	t.Run("502 SYNTAX_ERROR", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.openChannel(1)
		// queue.declare whose queue name claims 200 octets but has 3.
		payload := []byte{0, 50, 0, 10, 0, 0, 200, 'a', 'b', 'c'}
		r.write(wire.AppendFrame(nil, wire.Frame{Type: wire.FrameMethod, Channel: 1, Payload: payload}))
		r.expectConnectionClose(502, "")
	})
	t.Run("504 CHANNEL_ERROR unopened channel", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.send(5, &wire.QueueDeclare{Queue: "q"})
		r.expectConnectionClose(504, "CHANNEL_ERROR - expected 'channel.open'")
	})
	t.Run("504 CHANNEL_ERROR over channel_max", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.send(4000, &wire.ChannelOpen{})
		r.expectConnectionClose(504, "")
	})
	t.Run("505 UNEXPECTED_FRAME header without publish", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.openChannel(1)
		h, _ := wire.AppendHeaderFrame(nil, 1, wire.ContentClass, 3, nil)
		r.write(h)
		r.expectConnectionClose(505, "")
	})
	t.Run("505 UNEXPECTED_FRAME method inside content", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.openChannel(1)
		r.send(1, &wire.BasicPublish{RoutingKey: "q"})
		r.send(1, &wire.QueueDeclare{Queue: "q"})
		r.expectConnectionClose(505, "")
	})
	t.Run("540 NOT_IMPLEMENTED unknown method", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.openChannel(1)
		r.write(wire.AppendFrame(nil, wire.Frame{Type: wire.FrameMethod, Channel: 1, Payload: []byte{0, 60, 0, 99}}))
		r.expectConnectionClose(540, "")
	})
	t.Run("406 message too large closes only the channel", func(t *testing.T) {
		r := rawHandshake(t, s, rawOptions{})
		r.openChannel(1)
		r.send(1, &wire.BasicPublish{RoutingKey: "q"})
		h, _ := wire.AppendHeaderFrame(nil, 1, wire.ContentClass, 1<<40, nil)
		r.write(h)
		r.expectChannelClose(1, 406, "PRECONDITION_FAILED - message size 1099511627776 is larger than configured max size 134217728")
		r.openChannel(1)
	})
}

// TestAMQPAuthentication: wrong credentials are refused, silently for a
// client that did not ask otherwise and with 403 for one that advertised
// authentication_failure_close; AMQPLAIN works as PLAIN does.
func TestAMQPAuthentication(t *testing.T) {
	s := startAMQPServer(t, options{})
	_, err := amqp.Dial("amqp://guest:wrong@" + s.addr("amqp") + "/")
	if !errors.Is(err, amqp.ErrCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	conn, err := amqp.DialConfig("amqp://"+s.addr("amqp")+"/", amqp.Config{
		SASL: []amqp.Authentication{&amqp.AMQPlainAuth{Username: "guest", Password: "guest"}}})
	must(t, err)
	must(t, conn.Close())

	r := newRawClient(t, s)
	r.write([]byte(wire.ProtocolHeader))
	r.expect(0, &wire.ConnectionStart{})
	r.send(0, &wire.ConnectionStartOk{ClientProperties: core.Table{"capabilities": core.Table{"authentication_failure_close": true}},
		Mechanism: "PLAIN", Response: []byte("\x00guest\x00nope"), Locale: "en_US"})
	r.expectConnectionClose(403, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.")
}

// TestAMQPProtocolHeader: a client opening with another protocol header is
// told the supported one and disconnected (AMQP 0-9-1 §4.2.2).
func TestAMQPProtocolHeader(t *testing.T) {
	s := startAMQPServer(t, options{})
	for _, hdr := range []string{"AMQP\x00\x00\x09\x02", "AMQP\x00\x01\x00\x00", "GET / HTTP/1.1\r\n\r\n"} {
		r := newRawClient(t, s)
		r.write([]byte(hdr))
		got := make([]byte, 8)
		if _, err := ioReadFull(r, got); err != nil {
			t.Fatalf("%q: %v", hdr, err)
		}
		if string(got) != wire.ProtocolHeader {
			t.Fatalf("%q answered with %q", hdr, got)
		}
		r.expectEOF()
	}
}

func ioReadFull(r *rawClient, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.c.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
