package conformance

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPConfirmsUnderLoad publishes 100,000 messages in confirm mode,
// persistent and transient alternately to a durable queue on the durable
// store, so confirms complete out of order (transient at once, persistent
// after the fsync): each publish is confirmed exactly once, positively.
func TestAMQPConfirmsUnderLoad(t *testing.T) {
	const n = 100_000
	s := startAMQPServer(t, options{durable: true})
	_, ch := amqpChannel(t, s)
	_, err := ch.QueueDeclare("load", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n+1))
	body := []byte(strings.Repeat("x", 100))
	done := make(chan struct{})
	seen := make([]uint8, n+1)
	go func() {
		defer close(done)
		for range n {
			c := <-confirms
			if c.DeliveryTag == 0 || c.DeliveryTag > n {
				t.Errorf("confirm of tag %d", c.DeliveryTag)
				return
			}
			if !c.Ack {
				t.Errorf("publish %d nacked", c.DeliveryTag)
			}
			seen[c.DeliveryTag]++
		}
	}()
	for i := range n {
		mode := amqp.Transient
		if i%2 == 0 {
			mode = amqp.Persistent
		}
		must(t, ch.Publish("", "load", false, false, amqp.Publishing{DeliveryMode: mode, Body: body}))
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("confirms did not all arrive")
	}
	for tag := 1; tag <= n; tag++ {
		if seen[tag] != 1 {
			t.Fatalf("publish %d confirmed %d times", tag, seen[tag])
		}
	}
	select {
	case c := <-confirms:
		t.Fatalf("an extra confirm %+v", c)
	case <-time.After(20 * time.Millisecond):
	}
	q, err := ch.QueueDeclarePassive("load", true, false, false, false, nil)
	must(t, err)
	if q.Messages != n {
		t.Fatalf("%d messages in the queue, want %d", q.Messages, n)
	}
}

// TestAMQPMandatory: an unroutable mandatory message comes back with
// basic.return 312 NO_ROUTE, before its confirm; a routable one does not.
func TestAMQPMandatory(t *testing.T) {
	s := startAMQPServer(t, options{})
	_, ch := amqpChannel(t, s)
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	_, err := ch.QueueDeclare("routable", false, true, false, false, nil)
	must(t, err)
	must(t, ch.Publish("", "routable", true, false, amqp.Publishing{Body: []byte("ok")}))
	must(t, ch.Publish("amq.direct", "nowhere", true, false, amqp.Publishing{MessageId: "m1", Body: []byte("back")}))
	must(t, ch.Publish("amq.direct", "nowhere", false, false, amqp.Publishing{Body: []byte("dropped")}))
	select {
	case r := <-returns:
		if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != "amq.direct" || r.RoutingKey != "nowhere" ||
			string(r.Body) != "back" || r.MessageId != "m1" {
			t.Fatalf("return %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.return")
	}
	select {
	case r := <-returns:
		t.Fatalf("a second return %q", r.Body)
	case <-time.After(30 * time.Millisecond):
	}

	// On the wire, the return precedes the ack.
	r := rawHandshake(t, s, rawOptions{})
	r.openChannel(1)
	r.send(1, &wire.ConfirmSelect{})
	r.expect(1, &wire.ConfirmSelectOk{})
	b, err := wire.AppendContent(nil, 1, &wire.BasicPublish{Exchange: "amq.direct", RoutingKey: "nowhere", Mandatory: true},
		nil, []byte("x"), 4096)
	must(t, err)
	r.write(b)
	ret := r.expect(1, &wire.BasicReturn{}).(*wire.BasicReturn)
	if ret.ReplyCode != 312 {
		t.Fatalf("return %+v", ret)
	}
	ack := r.expect(1, &wire.BasicAck{}).(*wire.BasicAck)
	if ack.DeliveryTag != 1 || ack.Multiple {
		t.Fatalf("ack %+v", ack)
	}
}

// TestAMQPTransactions: publishes and acks take effect at tx.commit and
// vanish at tx.rollback; tx and confirm modes exclude each other.
func TestAMQPTransactions(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)
	_, err := ch.QueueDeclare("txq", false, false, false, false, nil)
	must(t, err)
	count := func() int {
		q, err := ch.QueueDeclarePassive("txq", false, false, false, false, nil)
		must(t, err)
		return q.Messages
	}
	tx, err := conn.Channel()
	must(t, err)
	must(t, tx.Tx())
	publish(t, tx, "", "txq", "a")
	publish(t, tx, "", "txq", "b")
	if n := count(); n != 0 {
		t.Fatalf("%d messages before commit", n)
	}
	must(t, tx.TxCommit())
	if n := count(); n != 2 {
		t.Fatalf("%d messages after commit, want 2", n)
	}
	publish(t, tx, "", "txq", "c")
	must(t, tx.TxRollback())
	if n := count(); n != 2 {
		t.Fatalf("%d messages after rollback, want 2", n)
	}

	// Acks in a transaction.
	d1, ok, err := tx.Get("txq", false)
	must(t, err)
	d2, ok2, err := tx.Get("txq", false)
	must(t, err)
	if !ok || !ok2 {
		t.Fatal("get")
	}
	must(t, d1.Ack(false))
	must(t, tx.TxRollback()) // the ack is undone: still unacked
	must(t, d2.Ack(true))
	must(t, tx.TxCommit())
	if n := count(); n != 0 {
		t.Fatalf("%d ready after the acks", n)
	}
	must(t, tx.Close())
	if n := count(); n != 0 {
		t.Fatalf("%d messages came back: the committed acks were lost", n)
	}

	// Mode conflicts and commit without select.
	c, err := conn.Channel()
	must(t, err)
	must(t, c.Tx())
	wantAMQPError(t, c.Confirm(false), 406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")
	c, err = conn.Channel()
	must(t, err)
	must(t, c.Confirm(false))
	wantAMQPError(t, c.Tx(), 406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")
	c, err = conn.Channel()
	must(t, err)
	wantAMQPError(t, c.TxCommit(), 406, "PRECONDITION_FAILED - channel is not transactional")
	c, err = conn.Channel()
	must(t, err)
	wantAMQPError(t, c.TxRollback(), 406, "PRECONDITION_FAILED - channel is not transactional")
}

// TestAMQPDirectReplyTo is a request/reply round trip through
// amq.rabbitmq.reply-to, and its errors.
func TestAMQPDirectReplyTo(t *testing.T) {
	s := startAMQPServer(t, options{})
	conn, client := amqpChannel(t, s)
	_, err := client.QueueDeclare("rpc", false, false, false, false, nil)
	must(t, err)
	replies, err := client.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	must(t, err)

	// The server side of the RPC, on its own connection.
	srv := dialAMQP(t, s)
	sch, err := srv.Channel()
	must(t, err)
	requests, err := sch.Consume("rpc", "", false, false, false, false, nil)
	must(t, err)
	must(t, client.Publish("", "rpc", false, false, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to",
		CorrelationId: "42", Body: []byte("ping")}))
	req := receive(t, requests)
	if !strings.HasPrefix(req.ReplyTo, "amq.rabbitmq.reply-to.") {
		t.Fatalf("reply-to %q", req.ReplyTo)
	}
	_, err = sch.QueueDeclarePassive(req.ReplyTo, false, false, false, false, nil)
	must(t, err)
	must(t, sch.Publish("", req.ReplyTo, false, false, amqp.Publishing{CorrelationId: req.CorrelationId, Body: []byte("pong")}))
	must(t, req.Ack(false))
	rep := receive(t, replies)
	if string(rep.Body) != "pong" || rep.CorrelationId != "42" || rep.RoutingKey != req.ReplyTo || rep.Exchange != "" {
		t.Fatalf("reply %+v", rep)
	}

	// Errors.
	c, err := conn.Channel()
	must(t, err)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	must(t, c.Publish("", "rpc", false, false, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to"}))
	wantAMQPError(t, <-closed, 406, "PRECONDITION_FAILED - fast reply consumer does not exist")
	c, err = conn.Channel()
	must(t, err)
	_, err = c.Consume("amq.rabbitmq.reply-to", "", false, false, false, false, nil)
	wantAMQPError(t, err, 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge")

	// Once the requester's channel is gone, a mandatory reply comes back.
	must(t, client.Close())
	returns := sch.NotifyReturn(make(chan amqp.Return, 1))
	must(t, sch.Publish("", req.ReplyTo, true, false, amqp.Publishing{Body: []byte("late")}))
	select {
	case r := <-returns:
		if string(r.Body) != "late" || r.ReplyCode != 312 {
			t.Fatalf("return %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reply to a gone requester was not returned")
	}
}
