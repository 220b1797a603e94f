package conformance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// fill publishes n messages "0".."n-1" to queue q and waits until they are
// all in it.
func fill(t *testing.T, ch *amqp.Channel, q string, n int) {
	t.Helper()
	for i := range n {
		publish(t, ch, "", q, fmt.Sprint(i))
	}
	waitFor(t, 5*time.Second, fmt.Sprintf("%d messages in %s", n, q), func() bool {
		info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		must(t, err)
		return info.Messages >= n
	})
}

// TestAMQPPrefetch: basic.qos bounds unacked deliveries per consumer
// (global=false, RabbitMQ's default meaning) and per channel (global=true).
func TestAMQPPrefetch(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)
	_, err := ch.QueueDeclare("pf", false, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDeclare("pf2", false, false, false, false, nil)
	must(t, err)
	fill(t, ch, "pf", 20)
	fill(t, ch, "pf2", 20)

	c, err := conn.Channel()
	must(t, err)
	must(t, c.Qos(3, 0, false))
	ds, err := c.Consume("pf", "", false, false, false, false, nil)
	must(t, err)
	var got []amqp.Delivery
	for range 3 {
		got = append(got, receive(t, ds))
	}
	noDelivery(t, ds, 50*time.Millisecond)
	must(t, got[0].Ack(false))
	got = append(got, receive(t, ds))
	noDelivery(t, ds, 20*time.Millisecond)
	must(t, got[3].Ack(true)) // multiple: all four
	for range 3 {
		receive(t, ds)
	}
	noDelivery(t, ds, 20*time.Millisecond)

	// Global: two consumers on two queues share 4.
	g, err := conn.Channel()
	must(t, err)
	must(t, g.Qos(4, 0, true))
	d1, err := g.Consume("pf2", "a", false, false, false, false, nil)
	must(t, err)
	d2, err := g.Consume("pf", "b", false, false, false, false, nil)
	must(t, err)
	var last amqp.Delivery
	total := 0
	timeout := time.After(5 * time.Second)
	for total < 4 {
		select {
		case last = <-d1:
		case last = <-d2:
		case <-timeout:
			t.Fatalf("only %d deliveries under a global prefetch of 4", total)
		}
		total++
	}
	select {
	case d := <-d1:
		t.Fatalf("a fifth delivery %q under a global prefetch of 4", d.Body)
	case d := <-d2:
		t.Fatalf("a fifth delivery %q under a global prefetch of 4", d.Body)
	case <-time.After(50 * time.Millisecond):
	}
	must(t, last.Ack(true))
	select {
	case <-d1:
	case <-d2:
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery after acking")
	}
}

// TestAMQPConsumers: consumer tags, exclusive consumers, priorities,
// cancel, and the server's basic.cancel when the queue is deleted.
func TestAMQPConsumers(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)
	_, err := ch.QueueDeclare("cons", false, false, false, false, nil)
	must(t, err)

	// A server-generated tag looks like RabbitMQ's; raw frames, since
	// amqp091-go always sends its own.
	r := rawHandshake(t, s, rawOptions{})
	r.openChannel(1)
	r.send(1, &wire.BasicConsume{Queue: "cons"})
	ok := r.expect(1, &wire.BasicConsumeOk{}).(*wire.BasicConsumeOk)
	if !strings.HasPrefix(ok.ConsumerTag, "amq.ctag-") || len(ok.ConsumerTag) < 20 {
		t.Fatalf("generated tag %q", ok.ConsumerTag)
	}
	r.send(1, &wire.BasicCancel{ConsumerTag: ok.ConsumerTag})
	r.expect(1, &wire.BasicCancelOk{})

	// Exclusive consumers.
	c1, err := conn.Channel()
	must(t, err)
	_, err = c1.Consume("cons", "excl", false, true, false, false, nil)
	must(t, err)
	c2, err := conn.Channel()
	must(t, err)
	_, err = c2.Consume("cons", "second", false, false, false, false, nil)
	wantAMQPError(t, err, 403, "ACCESS_REFUSED - queue 'cons' in vhost '/' in exclusive use")
	must(t, c1.Cancel("excl", false))

	// Priorities: the higher x-priority consumer gets everything while it
	// has credit.
	lo, err := conn.Channel()
	must(t, err)
	hi, err := conn.Channel()
	must(t, err)
	dlo, err := lo.Consume("cons", "lo", true, false, false, false, amqp.Table{"x-priority": int32(1)})
	must(t, err)
	dhi, err := hi.Consume("cons", "hi", true, false, false, false, amqp.Table{"x-priority": int32(10)})
	must(t, err)
	for range 5 {
		publish(t, ch, "", "cons", "p")
		receive(t, dhi)
	}
	noDelivery(t, dlo, 20*time.Millisecond)

	// Deleting the queue cancels its consumers, and a client that asked
	// hears of it.
	cancels := lo.NotifyCancel(make(chan string, 1))
	_, err = ch.QueueDelete("cons", false, false, false)
	must(t, err)
	select {
	case tag := <-cancels:
		if tag != "lo" {
			t.Fatalf("cancelled %q", tag)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.cancel after the queue was deleted")
	}
	if _, open := <-dlo; open {
		t.Fatal("deliveries of a cancelled consumer still open")
	}
	if lo.IsClosed() {
		t.Fatal("the channel closed")
	}
}

// TestAMQPAcknowledgements: ack, nack and reject, single and multiple,
// requeue or not, basic.recover, and deliveries to a closed channel
// requeued.
func TestAMQPAcknowledgements(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)
	_, err := ch.QueueDeclare("acks", false, false, false, false, nil)
	must(t, err)
	fill(t, ch, "acks", 6)
	c, err := conn.Channel()
	must(t, err)
	ds, err := c.Consume("acks", "", false, false, false, false, nil)
	must(t, err)
	var d []amqp.Delivery
	for range 6 {
		d = append(d, receive(t, ds))
	}
	for i, x := range d {
		if x.DeliveryTag != uint64(i+1) || x.Redelivered || string(x.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d: tag %d body %q redelivered %v", i, x.DeliveryTag, x.Body, x.Redelivered)
		}
	}
	must(t, d[1].Ack(true))        // 0, 1
	must(t, d[2].Reject(false))    // 2 dropped
	must(t, d[4].Nack(true, true)) // 3, 4 requeued
	again := []amqp.Delivery{receive(t, ds), receive(t, ds)}
	for i, x := range again {
		if !x.Redelivered || string(x.Body) != fmt.Sprint(3+i) {
			t.Fatalf("requeued %q redelivered=%v", x.Body, x.Redelivered)
		}
	}
	must(t, c.Recover(true)) // 5 and the two redeliveries come back
	var bodies []string
	for range 3 {
		x := receive(t, ds)
		bodies = append(bodies, string(x.Body))
		must(t, x.Ack(false))
	}
	if strings.Join(bodies, "") != "345" {
		t.Fatalf("after recover: %v", bodies)
	}
	noDelivery(t, ds, 20*time.Millisecond)
	must(t, c.Close())

	// basic.get: get-ok with the remaining count, get-empty, no-ack.
	fill(t, ch, "acks", 2)
	g, ok, err := ch.Get("acks", false)
	must(t, err)
	if !ok || g.MessageCount != 1 || string(g.Body) != "0" {
		t.Fatalf("get %v %q count %d", ok, g.Body, g.MessageCount)
	}
	must(t, g.Ack(false))
	g, ok, err = ch.Get("acks", true)
	must(t, err)
	if !ok || g.MessageCount != 0 {
		t.Fatalf("no-ack get %v count %d", ok, g.MessageCount)
	}
	if _, ok, err = ch.Get("acks", true); err != nil || ok {
		t.Fatalf("get on an empty queue: %v %v", ok, err)
	}

	// Unacked deliveries of a closed channel go back to the queue.
	fill(t, ch, "acks", 1)
	c3, err := conn.Channel()
	must(t, err)
	ds3, err := c3.Consume("acks", "", false, false, false, false, nil)
	must(t, err)
	receive(t, ds3)
	must(t, c3.Close())
	g, ok, err = ch.Get("acks", true)
	must(t, err)
	if !ok || !g.Redelivered {
		t.Fatalf("after channel close: %v redelivered=%v", ok, g.Redelivered)
	}
}

// TestAMQPChannelFlow: channel.flow(false) stops deliveries to the channel
// until flow(true).
func TestAMQPChannelFlow(t *testing.T) {
	s := startAMQPServer(t, options{})
	_, ch := amqpChannel(t, s)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	ds, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Flow(false))
	publish(t, ch, "", q.Name, "held")
	noDelivery(t, ds, 50*time.Millisecond)
	must(t, ch.Flow(true))
	if d := receive(t, ds); string(d.Body) != "held" {
		t.Fatalf("got %q", d.Body)
	}
}

// TestAMQPDeliveryTagOrder: on one channel, deliveries to a consumer and
// basic.get-ok replies carry strictly increasing delivery tags on the wire,
// however they interleave.
func TestAMQPDeliveryTagOrder(t *testing.T) {
	s := startAMQPServer(t, options{})
	_, ch := amqpChannel(t, s)
	for _, q := range []string{"qa", "qb"} {
		_, err := ch.QueueDeclare(q, false, false, false, false, nil)
		must(t, err)
	}
	const n = 300
	fill(t, ch, "qb", n)
	r := rawHandshake(t, s, rawOptions{})
	r.openChannel(1)
	r.send(1, &wire.BasicConsume{Queue: "qa", ConsumerTag: "c", NoAck: true})
	r.expect(1, &wire.BasicConsumeOk{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			if ch.Publish("", "qa", false, false, amqp.Publishing{Body: []byte("a")}) != nil {
				return
			}
		}
	}()
	for range n {
		r.send(1, &wire.BasicGet{Queue: "qb", NoAck: true})
	}
	var last uint64
	deliveries, gets := 0, 0
	for deliveries < n || gets < n {
		_, m, err := r.recv()
		must(t, err)
		var tag uint64
		switch m := m.(type) {
		case *wire.BasicDeliver:
			tag = m.DeliveryTag
			deliveries++
		case *wire.BasicGetOk:
			tag = m.DeliveryTag
			gets++
		default:
			t.Fatalf("unexpected %s", m.Name())
		}
		if tag <= last {
			t.Fatalf("delivery tag %d after %d", tag, last)
		}
		last = tag
	}
	<-done
}
