package conformance

import (
	"bytes"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPSlowConsumer: a no-ack consumer that stops reading neither stalls
// a publisher (every confirm arrives) nor makes the server buffer without
// bound: what it cannot take stays in the queue (DESIGN §4 rule 3).
func TestAMQPSlowConsumer(t *testing.T) {
	s := startAMQPServer(t, options{})
	_, ch := amqpChannel(t, s)
	_, err := ch.QueueDeclare("slow", false, false, false, false, nil)
	must(t, err)

	stuck := rawHandshake(t, s, rawOptions{})
	stuck.openChannel(1)
	stuck.send(1, &wire.BasicConsume{Queue: "slow", ConsumerTag: "stuck", NoAck: true})
	stuck.expect(1, &wire.BasicConsumeOk{})
	// From here on the raw client reads nothing.

	must(t, ch.Confirm(false))
	const n = 20000 // 20 MB, far more than the socket buffers hold
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	body := bytes.Repeat([]byte("s"), 1000)
	for range n {
		must(t, ch.Publish("", "slow", false, false, amqp.Publishing{Body: body}))
	}
	timeout := time.After(30 * time.Second)
	for i := range n {
		select {
		case c := <-confirms:
			if !c.Ack {
				t.Fatalf("publish %d nacked", c.DeliveryTag)
			}
		case <-timeout:
			t.Fatalf("the publisher stalled: %d of %d confirms", i, n)
		}
	}
	q, err := ch.QueueDeclarePassive("slow", false, false, false, false, nil)
	must(t, err)
	if q.Messages < n/2 {
		t.Fatalf("only %d of %d messages left in the queue: the server buffered the rest", q.Messages, n)
	}
}

// TestAMQPBlocked: crossing the memory watermark blocks publishers with
// connection.blocked and holds their publishes; draining the queue
// unblocks them.
func TestAMQPBlocked(t *testing.T) {
	s := startAMQPServer(t, options{edit: func(c *gateway.Config) { c.MemoryHighWatermark = 1000 }})
	pub := dialAMQP(t, s)
	blocked := pub.NotifyBlocked(make(chan amqp.Blocking, 4))
	pch, err := pub.Channel()
	must(t, err)
	_, err = pch.QueueDeclare("mem", false, false, false, false, nil)
	must(t, err)
	body := bytes.Repeat([]byte("m"), 400)
	for range 3 {
		must(t, pch.Publish("", "mem", false, false, amqp.Publishing{Body: body}))
	}
	select {
	case b := <-blocked:
		if !b.Active || b.Reason != "low on memory" {
			t.Fatalf("blocking %+v", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.blocked past the watermark")
	}
	must(t, pch.Publish("", "mem", false, false, amqp.Publishing{Body: []byte("held")}))

	_, cch := amqpChannel(t, s)
	ds, err := cch.Consume("mem", "", true, false, false, false, nil)
	must(t, err)
	for range 3 {
		receive(t, ds)
	}
	select {
	case b := <-blocked:
		if b.Active {
			t.Fatalf("blocking %+v", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.unblocked after the queue drained")
	}
	if d := receive(t, ds); string(d.Body) != "held" {
		t.Fatalf("got %q", d.Body)
	}
}
