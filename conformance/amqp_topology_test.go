package conformance

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestAMQPExchanges drives the exchange class: every kind routes as
// RabbitMQ's does, exchange-to-exchange bindings, alternate and internal
// exchanges, passive and inequivalent declares, delete (if-unused), nowait.
func TestAMQPExchanges(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	ds, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	must(t, err)
	expect := func(body string) {
		t.Helper()
		if d := receive(t, ds); string(d.Body) != body {
			t.Fatalf("got %q, want %q", d.Body, body)
		}
	}

	must(t, ch.ExchangeDeclare("x.direct", "direct", true, false, false, false, nil))
	must(t, ch.ExchangeDeclare("x.fanout", "fanout", false, true, false, false, nil))
	must(t, ch.ExchangeDeclare("x.topic", "topic", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("x.headers", "headers", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("x.internal", "fanout", false, false, true, false, nil))
	must(t, ch.ExchangeDeclare("x.nowait", "direct", false, false, false, true, nil))
	must(t, ch.ExchangeDeclarePassive("x.nowait", "direct", false, false, false, false, nil))
	must(t, ch.ExchangeDeclarePassive("amq.topic", "topic", true, false, false, false, nil))

	must(t, ch.QueueBind(q.Name, "k", "x.direct", false, nil))
	must(t, ch.QueueBind(q.Name, "", "x.fanout", false, nil))
	must(t, ch.QueueBind(q.Name, "a.*.c.#", "x.topic", false, nil))
	must(t, ch.QueueBind(q.Name, "", "x.headers", false, amqp.Table{"x-match": "all", "h": "v", "n": int32(1)}))
	must(t, ch.QueueBind(q.Name, "", "x.internal", true, nil))

	publish(t, ch, "x.direct", "k", "direct")
	expect("direct")
	publish(t, ch, "x.direct", "other", "dropped")
	publish(t, ch, "x.fanout", "anything", "fanout")
	expect("fanout")
	publish(t, ch, "x.topic", "a.b.c", "topic1")
	expect("topic1")
	publish(t, ch, "x.topic", "a.b.c.d.e", "topic2")
	expect("topic2")
	publish(t, ch, "x.topic", "a.c", "dropped")
	must(t, ch.Publish("x.headers", "", false, false, amqp.Publishing{Headers: amqp.Table{"h": "v", "n": int32(1)}, Body: []byte("headers")}))
	expect("headers")
	must(t, ch.Publish("x.headers", "", false, false, amqp.Publishing{Headers: amqp.Table{"h": "v"}, Body: []byte("dropped")}))

	// Exchange-to-exchange: x.fanout receives what x.topic routes with "e2e.#".
	must(t, ch.ExchangeBind("x.internal", "e2e.#", "x.topic", false, nil))
	publish(t, ch, "x.topic", "e2e.go", "via internal")
	expect("via internal")
	must(t, ch.ExchangeUnbind("x.internal", "e2e.#", "x.topic", false, nil))
	publish(t, ch, "x.topic", "e2e.go", "dropped")

	// Alternate exchange.
	must(t, ch.ExchangeDeclare("x.ae", "direct", false, true, false, false, amqp.Table{"alternate-exchange": "x.fanout"}))
	publish(t, ch, "x.ae", "nowhere", "alternate")
	expect("alternate")
	noDelivery(t, ds, 50*time.Millisecond)

	// Publishing to an internal exchange is refused.
	ch2, err := conn.Channel()
	must(t, err)
	closed := ch2.NotifyClose(make(chan *amqp.Error, 1))
	publish(t, ch2, "x.internal", "", "refused")
	wantAMQPError(t, <-closed, 403, "ACCESS_REFUSED - cannot publish to internal exchange 'x.internal' in vhost '/'")

	// Inequivalent redeclare.
	ch3, err := conn.Channel()
	must(t, err)
	err = ch3.ExchangeDeclare("x.direct", "fanout", true, false, false, false, nil)
	wantAMQPError(t, err, 406, "")

	// Delete: if-unused refuses while bound; a missing exchange deletes fine.
	ch4, err := conn.Channel()
	must(t, err)
	err = ch4.ExchangeDelete("x.direct", true, false)
	wantAMQPError(t, err, 406, "PRECONDITION_FAILED - exchange 'x.direct' in vhost '/' in use")
	must(t, ch.QueueUnbind(q.Name, "k", "x.direct", nil))
	must(t, ch.ExchangeDelete("x.direct", true, false))
	must(t, ch.ExchangeDelete("x.never", false, false))
	must(t, ch.ExchangeDelete("x.nowait", false, true))
	err = ch.ExchangeDeclarePassive("x.direct", "direct", true, false, false, false, nil)
	wantAMQPError(t, err, 404, "NOT_FOUND - no exchange 'x.direct' in vhost '/'")
}

// TestAMQPQueues drives the queue class: server-named and named queues,
// declare-ok counts, passive declares, exclusivity, bind and unbind,
// purge, delete with its conditions, nowait, and RabbitMQ's empty-name
// shortcut for the last declared queue.
func TestAMQPQueues(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)

	q, err := ch.QueueDeclare("", false, false, true, false, nil)
	must(t, err)
	if !strings.HasPrefix(q.Name, "amq.gen-") {
		t.Fatalf("server-named queue %q", q.Name)
	}
	name := qname(t, "q")
	q, err = ch.QueueDeclare(name, true, false, false, false, nil)
	must(t, err)
	if q.Name != name || q.Messages != 0 || q.Consumers != 0 {
		t.Fatalf("declare-ok %+v", q)
	}
	for range 3 {
		publish(t, ch, "", name, "m")
	}
	waitFor(t, 5*time.Second, "3 messages", func() bool {
		q, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
		must(t, err)
		return q.Messages == 3
	})
	_, err = ch.Consume(name, "c1", false, false, false, false, nil)
	must(t, err)
	waitFor(t, 5*time.Second, "one consumer", func() bool {
		q, err = ch.QueueDeclare(name, true, false, false, false, nil)
		must(t, err)
		return q.Consumers == 1
	})
	must(t, ch.Cancel("c1", false))
	must(t, ch.Close()) // requeues the deliveries
	ch, err = conn.Channel()
	must(t, err)

	// Purge and delete report counts; delete's conditions.
	n, err := ch.QueuePurge(name, false)
	must(t, err)
	if n != 3 {
		t.Fatalf("purged %d, want 3", n)
	}
	publish(t, ch, "", name, "m")
	waitFor(t, 5*time.Second, "a message", func() bool {
		q, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
		must(t, err)
		return q.Messages == 1
	})
	_, err = ch.QueueDelete(name, false, true, false)
	wantAMQPError(t, err, 406, "PRECONDITION_FAILED - queue '"+name+"' in vhost '/' is not empty")
	ch, err = conn.Channel()
	must(t, err)
	_, err = ch.Consume(name, "", false, false, false, false, nil)
	must(t, err)
	ch2, err := conn.Channel()
	must(t, err)
	_, err = ch2.QueueDelete(name, true, false, false)
	wantAMQPError(t, err, 406, "PRECONDITION_FAILED - queue '"+name+"' in vhost '/' in use")
	n, err = ch.QueueDelete(name, false, false, false)
	must(t, err)
	if n != 0 { // the message is unacked, not ready
		t.Fatalf("deleted with %d ready", n)
	}
	n, err = ch.QueueDelete(name, false, false, false) // gone: still fine
	must(t, err)
	if n != 0 {
		t.Fatal(n)
	}

	// Nowait variants.
	ch, err = conn.Channel()
	must(t, err)
	_, err = ch.QueueDeclare(name+"-nw", false, true, false, true, nil)
	must(t, err)
	must(t, ch.QueueBind(name+"-nw", "nw", "amq.direct", true, nil))
	publish(t, ch, "amq.direct", "nw", "via nowait binding")
	_, err = ch.QueuePurge(name+"-nw", true)
	must(t, err)
	_, err = ch.QueueDelete(name+"-nw", false, false, true)
	must(t, err)
	_, err = ch.QueueDeclarePassive(name+"-nw", false, true, false, false, nil)
	wantAMQPError(t, err, 404, "NOT_FOUND - no queue '"+name+"-nw' in vhost '/'")

	// Empty names mean the channel's last declared queue.
	ch, err = conn.Channel()
	must(t, err)
	last, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	must(t, ch.QueueBind("", "", "amq.direct", false, nil)) // key defaults to the queue name
	publish(t, ch, "amq.direct", last.Name, "shortcut")
	ds, err := ch.Consume("", "", true, false, false, false, nil)
	must(t, err)
	if d := receive(t, ds); string(d.Body) != "shortcut" || d.Exchange != "amq.direct" {
		t.Fatalf("delivery %q from %q", d.Body, d.Exchange)
	}
	must(t, ch.QueueUnbind("", "", "amq.direct", nil))

	// An exclusive queue is the declaring connection's alone, and goes
	// with it.
	other := dialAMQP(t, s)
	och, err := other.Channel()
	must(t, err)
	excl, err := och.QueueDeclare("", false, false, true, false, nil)
	must(t, err)
	_, err = ch.Consume(excl.Name, "", false, false, false, false, nil)
	wantAMQPError(t, err, 405, "")
	must(t, other.Close())
	ch, err = conn.Channel()
	must(t, err)
	waitFor(t, 5*time.Second, "the exclusive queue to go", func() bool {
		_, err := ch.QueueDeclarePassive(excl.Name, false, false, false, false, nil)
		if err == nil {
			return false
		}
		wantAMQPError(t, err, 404, "")
		ch, err = conn.Channel()
		must(t, err)
		return true
	})
}
