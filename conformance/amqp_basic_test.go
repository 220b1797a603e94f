package conformance

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestAMQPConnectionProperties checks connection.start as the client sees
// it: RabbitMQ's server-property keys and every capability it advertises.
func TestAMQPConnectionProperties(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn := dialAMQP(t, s)
	for _, k := range []string{"product", "version", "platform", "copyright", "information"} {
		if _, ok := conn.Properties[k].(string); !ok {
			t.Errorf("server property %q missing: %v", k, conn.Properties)
		}
	}
	caps, _ := conn.Properties["capabilities"].(amqp.Table)
	for _, k := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "consumer_priorities", "authentication_failure_close",
		"per_consumer_qos", "direct_reply_to"} {
		if v, _ := caps[k].(bool); !v {
			t.Errorf("capability %q not advertised: %v", k, caps)
		}
	}
	if conn.Major != 0 || conn.Minor != 9 {
		t.Errorf("version %d-%d, want 0-9", conn.Major, conn.Minor)
	}
}

// TestAMQPPublishConsume is the round trip every application does.
func TestAMQPPublishConsume(t *testing.T) {
	s := startAMQPServer(t, options{})
	_, ch := amqpChannel(t, s)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	ds, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	must(t, err)
	stamp := time.Unix(1700000000, 0)
	must(t, ch.Publish("", q.Name, false, false, amqp.Publishing{
		ContentType: "text/plain", ContentEncoding: "utf-8", DeliveryMode: amqp.Persistent, Priority: 3,
		CorrelationId: "corr", ReplyTo: "back", Expiration: "60000", MessageId: "id-1", Timestamp: stamp,
		Type: "greeting", UserId: "guest", AppId: "test",
		Headers: amqp.Table{"s": "x", "i": int32(7), "l": int64(1 << 40), "t": true, "f": 1.5,
			"tab": amqp.Table{"n": int16(3)}, "arr": []any{"a", int32(1)}, "bin": []byte{0, 1}},
		Body: []byte("hello"),
	}))
	d := receive(t, ds)
	if string(d.Body) != "hello" || d.ContentType != "text/plain" || d.ContentEncoding != "utf-8" ||
		d.DeliveryMode != amqp.Persistent || d.Priority != 3 || d.CorrelationId != "corr" || d.ReplyTo != "back" ||
		d.Expiration != "60000" || d.MessageId != "id-1" || !d.Timestamp.Equal(stamp) || d.Type != "greeting" ||
		d.UserId != "guest" || d.AppId != "test" || d.Exchange != "" || d.RoutingKey != q.Name || d.Redelivered {
		t.Fatalf("delivery %+v", d)
	}
	if d.Headers["s"] != "x" || d.Headers["i"] != int32(7) || d.Headers["l"] != int64(1<<40) ||
		d.Headers["t"] != true || d.Headers["f"] != 1.5 {
		t.Fatalf("headers %#v", d.Headers)
	}
	must(t, d.Ack(false))
}
