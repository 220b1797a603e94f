package conformance

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// argsFixture is a connection with a dead-letter exchange "dlx" (fanout)
// bound to the queue "dlq", consumed into dead.
type argsFixture struct {
	t    *testing.T
	conn *amqp.Connection
	ch   *amqp.Channel
	dead <-chan amqp.Delivery
}

func newArgsFixture(t *testing.T) *argsFixture {
	s := startAMQPServer(t, options{})
	conn, ch := amqpChannel(t, s)
	must(t, ch.ExchangeDeclare("dlx", "fanout", false, false, false, false, nil))
	_, err := ch.QueueDeclare("dlq", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("dlq", "", "dlx", false, nil))
	dch, err := conn.Channel()
	must(t, err)
	dead, err := dch.Consume("dlq", "", true, false, false, false, nil)
	must(t, err)
	return &argsFixture{t: t, conn: conn, ch: ch, dead: dead}
}

func (f *argsFixture) declare(name string, args amqp.Table) {
	f.t.Helper()
	_, err := f.ch.QueueDeclare(name, false, false, false, false, args)
	must(f.t, err)
}

// get fetches one message or fails.
func (f *argsFixture) get(q string, ack bool) amqp.Delivery {
	f.t.Helper()
	var d amqp.Delivery
	waitFor(f.t, 5*time.Second, "a message in "+q, func() bool {
		var ok bool
		var err error
		d, ok, err = f.ch.Get(q, ack)
		must(f.t, err)
		return ok
	})
	return d
}

func (f *argsFixture) bodies(q string) string {
	f.t.Helper()
	var out []string
	for {
		d, ok, err := f.ch.Get(q, true)
		must(f.t, err)
		if !ok {
			return strings.Join(out, ",")
		}
		out = append(out, string(d.Body))
	}
}

func (f *argsFixture) deadLetter(reason string) amqp.Delivery {
	f.t.Helper()
	d := receive(f.t, f.dead)
	if got, _ := d.Headers["x-first-death-reason"].(string); got != reason {
		f.t.Fatalf("dead-lettered for %q, want %q (headers %v)", got, reason, d.Headers)
	}
	return d
}

// TestAMQPQueueArguments sets every queue argument through the client and
// checks its effect.
func TestAMQPQueueArguments(t *testing.T) {
	f := newArgsFixture(t)
	ch := f.ch
	t.Run("x-message-ttl and x-dead-letter-exchange", func(t *testing.T) {
		f.declare("ttl", amqp.Table{"x-message-ttl": int32(20), "x-dead-letter-exchange": "dlx"})
		publish(t, ch, "", "ttl", "expiring")
		d := f.deadLetter("expired")
		deaths, _ := d.Headers["x-death"].([]any)
		death, _ := deaths[0].(amqp.Table)
		if string(d.Body) != "expiring" || death["queue"] != "ttl" || death["reason"] != "expired" || death["count"] != int64(1) {
			t.Fatalf("dead letter %q %v", d.Body, d.Headers)
		}
	})
	t.Run("per-message expiration", func(t *testing.T) {
		f.declare("exp", amqp.Table{"x-dead-letter-exchange": "dlx"})
		must(t, ch.Publish("", "exp", false, false, amqp.Publishing{Expiration: "10", Body: []byte("m")}))
		f.deadLetter("expired")
	})
	t.Run("x-dead-letter-routing-key on reject", func(t *testing.T) {
		must(t, ch.ExchangeDeclare("dlx-direct", "direct", false, true, false, false, nil))
		must(t, ch.QueueBind("dlq", "to-dlq", "dlx-direct", false, nil))
		f.declare("rej", amqp.Table{"x-dead-letter-exchange": "dlx-direct", "x-dead-letter-routing-key": "to-dlq"})
		publish(t, ch, "", "rej", "rejected")
		d := f.get("rej", false)
		must(t, d.Reject(false))
		dl := f.deadLetter("rejected")
		if dl.RoutingKey != "to-dlq" || dl.Exchange != "dlx-direct" {
			t.Fatalf("dead letter via %q/%q", dl.Exchange, dl.RoutingKey)
		}
	})
	t.Run("x-expires", func(t *testing.T) {
		f.declare("expires", amqp.Table{"x-expires": int32(30)})
		// A declare, even passive, renews the lease: probe with mandatory
		// publishes, which come back once the queue is gone.
		c, err := f.conn.Channel()
		must(t, err)
		returns := c.NotifyReturn(make(chan amqp.Return, 1000))
		waitFor(t, 5*time.Second, "the queue to expire", func() bool {
			must(t, c.Publish("", "expires", true, false, amqp.Publishing{Body: []byte("probe")}))
			select {
			case <-returns:
				return true
			default:
				return false
			}
		})
	})
	t.Run("x-max-length drop-head", func(t *testing.T) {
		f.declare("maxlen", amqp.Table{"x-max-length": int64(2), "x-dead-letter-exchange": "dlx"})
		for _, b := range []string{"1", "2", "3"} {
			publish(t, ch, "", "maxlen", b)
		}
		if d := f.deadLetter("maxlen"); string(d.Body) != "1" {
			t.Fatalf("dropped %q", d.Body)
		}
		if got := f.bodies("maxlen"); got != "2,3" {
			t.Fatalf("kept %q", got)
		}
	})
	t.Run("x-max-length-bytes", func(t *testing.T) {
		f.declare("maxbytes", amqp.Table{"x-max-length-bytes": int32(10)})
		for _, b := range []string{"aaaaa", "bbbbb", "ccccc"} {
			publish(t, ch, "", "maxbytes", b)
		}
		waitFor(t, 5*time.Second, "two messages", func() bool {
			q, err := ch.QueueDeclarePassive("maxbytes", false, false, false, false, nil)
			must(t, err)
			return q.Messages == 2
		})
		if got := f.bodies("maxbytes"); got != "bbbbb,ccccc" {
			t.Fatalf("kept %q", got)
		}
	})
	t.Run("x-overflow reject-publish and reject-publish-dlx", func(t *testing.T) {
		c, err := f.conn.Channel()
		must(t, err)
		must(t, c.Confirm(false))
		confirms := c.NotifyPublish(make(chan amqp.Confirmation, 4))
		for _, mode := range []string{"reject-publish", "reject-publish-dlx"} {
			_, err := c.QueueDeclare(mode, false, false, false, false,
				amqp.Table{"x-max-length": int32(1), "x-overflow": mode, "x-dead-letter-exchange": "dlx"})
			must(t, err)
			publish(t, c, "", mode, "kept")
			publish(t, c, "", mode, "refused")
			if a, b := <-confirms, <-confirms; !a.Ack || b.Ack {
				t.Fatalf("%s: confirms %v %v, want ack then nack", mode, a, b)
			}
			if got := f.bodies(mode); got != "kept" {
				t.Fatalf("%s kept %q", mode, got)
			}
		}
		if d := f.deadLetter("maxlen"); string(d.Body) != "refused" {
			t.Fatalf("reject-publish-dlx dead-lettered %q", d.Body)
		}
		noDelivery(t, f.dead, 50*time.Millisecond) // reject-publish did not
	})
	t.Run("x-max-priority", func(t *testing.T) {
		f.declare("prio", amqp.Table{"x-max-priority": uint8(10)})
		for _, p := range []uint8{1, 9, 5, 0} {
			must(t, ch.Publish("", "prio", false, false, amqp.Publishing{Priority: p, Body: []byte{'0' + p}}))
		}
		waitFor(t, 5*time.Second, "4 messages", func() bool {
			q, err := ch.QueueDeclarePassive("prio", false, false, false, false, nil)
			must(t, err)
			return q.Messages == 4
		})
		if got := f.bodies("prio"); got != "9,5,1,0" {
			t.Fatalf("order %q", got)
		}
	})
	t.Run("x-single-active-consumer", func(t *testing.T) {
		f.declare("sac", amqp.Table{"x-single-active-consumer": true})
		c1, err := f.conn.Channel()
		must(t, err)
		c2, err := f.conn.Channel()
		must(t, err)
		d1, err := c1.Consume("sac", "first", true, false, false, false, nil)
		must(t, err)
		d2, err := c2.Consume("sac", "second", true, false, false, false, nil)
		must(t, err)
		publish(t, ch, "", "sac", "a")
		publish(t, ch, "", "sac", "b")
		if a, b := receive(t, d1), receive(t, d1); string(a.Body)+string(b.Body) != "ab" {
			t.Fatal("single active consumer did not get both")
		}
		noDelivery(t, d2, 20*time.Millisecond)
		must(t, c1.Cancel("first", false))
		publish(t, ch, "", "sac", "c")
		if d := receive(t, d2); string(d.Body) != "c" {
			t.Fatalf("next consumer got %q", d.Body)
		}
	})
	t.Run("x-delivery-limit", func(t *testing.T) {
		f.declare("limit", amqp.Table{"x-delivery-limit": int32(1), "x-dead-letter-exchange": "dlx"})
		publish(t, ch, "", "limit", "poison")
		for i := range 2 {
			d := f.get("limit", false)
			if d.Redelivered != (i > 0) {
				t.Fatalf("delivery %d redelivered=%v", i, d.Redelivered)
			}
			must(t, d.Nack(false, true))
		}
		f.deadLetter("delivery_limit")
	})
	t.Run("x-queue-type", func(t *testing.T) {
		_, err := ch.QueueDeclare("quorum", true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
		must(t, err)
		_, err = ch.QueueDeclare("classic", false, false, false, false, amqp.Table{"x-queue-type": "classic", "x-queue-mode": "lazy"})
		must(t, err)
		c, err := f.conn.Channel()
		must(t, err)
		_, err = c.QueueDeclare("quorum-transient", false, false, false, false, amqp.Table{"x-queue-type": "quorum"})
		wantAMQPError(t, err, 406, "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'quorum-transient' in vhost '/'")
	})
	t.Run("x-delivery-delay", func(t *testing.T) {
		f.declare("delay", amqp.Table{"x-delivery-delay": int32(100)})
		publish(t, ch, "", "delay", "later")
		if _, ok, err := ch.Get("delay", true); err != nil || ok {
			t.Fatalf("delayed message visible at once (%v)", err)
		}
		f.get("delay", true)
	})
	t.Run("x-visibility-timeout", func(t *testing.T) {
		f.declare("vis", amqp.Table{"x-visibility-timeout": int32(30)})
		publish(t, ch, "", "vis", "leased")
		f.get("vis", false) // never acked: back after 30ms
		if d := f.get("vis", true); !d.Redelivered {
			t.Fatal("not redelivered")
		}
	})
	t.Run("x-message-retention", func(t *testing.T) {
		f.declare("retention", amqp.Table{"x-message-retention": int32(20), "x-dead-letter-exchange": "dlx"})
		publish(t, ch, "", "retention", "old")
		waitFor(t, 5*time.Second, "retention to drop the message", func() bool {
			_, ok, err := ch.Get("retention", true)
			must(t, err)
			return !ok
		})
		noDelivery(t, f.dead, 50*time.Millisecond) // dropped, not dead-lettered
	})
	t.Run("invalid arguments", func(t *testing.T) {
		for _, args := range []amqp.Table{{"x-message-ttl": "soon"}, {"x-max-priority": int32(300)},
			{"x-overflow": "explode"}, {"x-expires": int32(0)}, {"x-dead-letter-routing-key": "k"}} {
			c, err := f.conn.Channel()
			must(t, err)
			_, err = c.QueueDeclare("bad", false, false, false, false, args)
			wantAMQPError(t, err, 406, "")
		}
	})
}
