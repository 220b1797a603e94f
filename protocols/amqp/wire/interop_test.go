package wire

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/core"
)

// TestAMQPWireInteropAMQP091 plays the server's side of a session with
// RabbitMQ's Go client over a pipe, using only this package: handshake,
// channel, queue.declare with every field type the client knows, a publish
// split over body frames, a delivery back, an ack and close. It checks the
// codec against an independent encoder and decoder.
func TestAMQPWireInteropAMQP091(t *testing.T) {
	srv, cli := net.Pipe()
	t.Cleanup(func() { srv.Close(); cli.Close() })
	if err := srv.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789"), 1000)
	stamp := time.Unix(1700000000, 0)

	delivered := make(chan amqp091.Delivery, 1)
	done := make(chan error, 1)
	go func() { done <- interopClient(cli, body, stamp, delivered) }()

	br := bufio.NewReader(srv)
	if hdr, err := ReadProtocolHeader(br); err != nil {
		t.Fatalf("protocol header %q: %v", hdr, err)
	}
	p := &interopPeer{t: t, conn: srv, fr: NewFrameReader(br, FrameMinSize)}

	p.send(0, &ConnectionStart{VersionMajor: 0, VersionMinor: 9,
		ServerProperties: core.Table{"product": "mqgate", "capabilities": core.Table{"publisher_confirms": true}},
		Mechanisms:       []byte("PLAIN AMQPLAIN"), Locales: []byte("en_US")})
	startOk := p.recv(0).(*ConnectionStartOk)
	if startOk.Mechanism != "PLAIN" || string(startOk.Response) != "\x00guest\x00guest" || startOk.Locale != "en_US" ||
		startOk.ClientProperties["product"] != "interop" ||
		!reflect.DeepEqual(startOk.ClientProperties["capabilities"], core.Table{"connection.blocked": true,
			"consumer_cancel_notify": true, "basic.nack": true, "publisher_confirms": true}) {
		t.Fatalf("start-ok %#v", startOk)
	}
	p.send(0, &ConnectionTune{ChannelMax: 2047, FrameMax: 4096, Heartbeat: 0})
	if tuneOk := p.recv(0).(*ConnectionTuneOk); tuneOk.FrameMax != 4096 || tuneOk.ChannelMax != 2047 {
		t.Fatalf("tune-ok %#v", tuneOk)
	}
	p.fr.SetMaxFrameSize(4096)
	if open := p.recv(0).(*ConnectionOpen); open.VirtualHost != "/" {
		t.Fatalf("open %#v", open)
	}
	p.send(0, &ConnectionOpenOk{})
	_ = p.recv(1).(*ChannelOpen)
	p.send(1, &ChannelOpenOk{})

	declare := p.recv(1).(*QueueDeclare)
	if declare.Queue != "orders" || !declare.Durable || declare.Passive || declare.NoWait {
		t.Fatalf("queue.declare %#v", declare)
	}
	if want := interopCoreTable(stamp); !reflect.DeepEqual(declare.Arguments, want) {
		t.Fatalf("arguments\n got %#v\nwant %#v", declare.Arguments, want)
	}
	p.send(1, &QueueDeclareOk{Queue: "orders"})

	pub := p.recv(1).(*BasicPublish)
	if pub.Exchange != "amq.topic" || pub.RoutingKey != "orders.eu" || !pub.Mandatory || pub.Immediate {
		t.Fatalf("publish %#v", pub)
	}
	h, got := p.recvContent(1)
	if want := interopProperties(stamp); !reflect.DeepEqual(h.Properties, want) {
		t.Fatalf("properties\n got %#v\nwant %#v", h.Properties, want)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("body of %d octets differs", len(got))
	}

	if consume := p.recv(1).(*BasicConsume); consume.Queue != "orders" || consume.ConsumerTag != "ctag" {
		t.Fatalf("consume %#v", consume)
	}
	p.send(1, &BasicConsumeOk{ConsumerTag: "ctag"})
	out, err := AppendContent(nil, 1, &BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1, Redelivered: true,
		Exchange: "amq.topic", RoutingKey: "orders.eu"}, &h.Properties, body, 4096)
	if err != nil {
		t.Fatal(err)
	}
	p.write(out)
	if ack := p.recv(1).(*BasicAck); ack.DeliveryTag != 1 || ack.Multiple {
		t.Fatalf("ack %#v", ack)
	}
	if c := p.recv(0).(*ConnectionClose); c.ReplyCode != ReplySuccess {
		t.Fatalf("close %#v", c)
	}
	p.send(0, &ConnectionCloseOk{})
	if err := <-done; err != nil {
		t.Fatal("client:", err)
	}

	d := <-delivered
	if d.ConsumerTag != "ctag" || d.DeliveryTag != 1 || !d.Redelivered || d.Exchange != "amq.topic" ||
		d.RoutingKey != "orders.eu" || !bytes.Equal(d.Body, body) || d.ContentType != "application/json" ||
		d.DeliveryMode != 2 || d.Priority != 5 || d.CorrelationId != "corr" || d.ReplyTo != "reply" ||
		d.Expiration != "60000" || d.MessageId != "msg-1" || !d.Timestamp.Equal(stamp) || d.Type != "t" ||
		d.UserId != "guest" || d.AppId != "app" {
		t.Fatalf("delivery %+v", d)
	}
	headers := d.Headers
	if ts, ok := headers["time"].(time.Time); !ok || !ts.Equal(stamp) {
		t.Fatalf("time header %#v", headers["time"])
	}
	delete(headers, "time")
	want := interopClientTable(stamp)
	delete(want, "time")
	if !reflect.DeepEqual(headers, want) {
		t.Fatalf("delivered headers\n got %#v\nwant %#v", headers, want)
	}
}

func interopClient(conn net.Conn, body []byte, stamp time.Time, delivered chan<- amqp091.Delivery) error {
	c, err := amqp091.DialConfig("amqp://guest:guest@mqgate:5672", amqp091.Config{
		Dial:       func(string, string) (net.Conn, error) { return conn, nil },
		FrameSize:  4096,
		Locale:     "en_US",
		Properties: amqp091.Table{"product": "interop"},
	})
	if err != nil {
		return err
	}
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	if _, err := ch.QueueDeclare("orders", true, false, false, false, interopClientTable(stamp)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = ch.PublishWithContext(ctx, "amq.topic", "orders.eu", true, false, amqp091.Publishing{
		Headers: interopClientTable(stamp), ContentType: "application/json", DeliveryMode: 2, Priority: 5,
		CorrelationId: "corr", ReplyTo: "reply", Expiration: "60000", MessageId: "msg-1", Timestamp: stamp,
		Type: "t", UserId: "guest", AppId: "app", Body: body,
	})
	if err != nil {
		return err
	}
	deliveries, err := ch.Consume("orders", "ctag", false, false, false, false, nil)
	if err != nil {
		return err
	}
	d := <-deliveries
	delivered <- d
	if err := d.Ack(false); err != nil {
		return err
	}
	return c.Close()
}

// interopClientTable has a value of every type amqp091-go encodes.
func interopClientTable(stamp time.Time) amqp091.Table {
	return amqp091.Table{
		"bool": true, "int8": int8(-1), "uint8": uint8(200), "int16": int16(-300), "int32": int32(-70000),
		"int64": int64(-1 << 40), "float32": float32(1.5), "float64": 2.25,
		"decimal": amqp091.Decimal{Scale: 2, Value: 12345}, "string": "s", "bytes": []byte{0, 1},
		"time": stamp, "table": amqp091.Table{"k": "v"}, "array": []interface{}{int32(1), "two", nil}, "void": nil,
	}
}

// interopCoreTable is interopClientTable as this package decodes it.
func interopCoreTable(stamp time.Time) core.Table {
	return core.Table{
		"bool": true, "int8": int8(-1), "uint8": uint8(200), "int16": int16(-300), "int32": int32(-70000),
		"int64": int64(-1 << 40), "float32": float32(1.5), "float64": 2.25,
		"decimal": core.Decimal{Scale: 2, Value: 12345}, "string": "s", "bytes": []byte{0, 1},
		"time": stamp.UTC(), "table": core.Table{"k": "v"}, "array": []any{int32(1), "two", nil}, "void": nil,
	}
}

func interopProperties(stamp time.Time) Properties {
	return Properties{
		ContentType: "application/json", Headers: interopCoreTable(stamp), DeliveryMode: 2, Priority: 5,
		CorrelationID: "corr", ReplyTo: "reply", Expiration: "60000", MessageID: "msg-1", Timestamp: stamp.UTC(),
		Type: "t", UserID: "guest", AppID: "app",
	}
}

// interopPeer is the server's end of the pipe.
type interopPeer struct {
	t    *testing.T
	conn net.Conn
	fr   *FrameReader
}

func (p *interopPeer) write(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatal("write:", err)
	}
}

func (p *interopPeer) send(channel uint16, m Method) {
	p.t.Helper()
	b, err := AppendMethodFrame(nil, channel, m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.write(b)
}

// frame reads the next frame other than a heartbeat.
func (p *interopPeer) frame() Frame {
	p.t.Helper()
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			p.t.Fatal("read frame:", err)
		}
		if f.Type != FrameHeartbeat {
			return f
		}
	}
}

func (p *interopPeer) recv(channel uint16) Method {
	p.t.Helper()
	f := p.frame()
	if f.Type != FrameMethod || f.Channel != channel {
		p.t.Fatalf("frame type %d on channel %d, want a method on %d", f.Type, f.Channel, channel)
	}
	m, err := DecodeMethod(f.Payload)
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// recvContent reads a content header and the body frames it announces.
func (p *interopPeer) recvContent(channel uint16) (ContentHeader, []byte) {
	p.t.Helper()
	f := p.frame()
	var h ContentHeader
	if f.Type != FrameHeader || f.Channel != channel {
		p.t.Fatalf("frame type %d on channel %d, want a header on %d", f.Type, f.Channel, channel)
	}
	if err := h.Decode(f.Payload); err != nil {
		p.t.Fatal(err)
	}
	var body []byte
	for uint64(len(body)) < h.BodySize {
		f := p.frame()
		if f.Type != FrameBody || len(f.Payload)+frameOverhead > 4096 {
			p.t.Fatalf("frame type %d of %d octets, want a body frame within frame-max", f.Type, len(f.Payload))
		}
		body = append(body, f.Payload...)
	}
	return h, body
}
