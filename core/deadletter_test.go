package core

import (
	"reflect"
	"testing"
	"time"
)

// Dead-lettering: every reason, the x-death history RabbitMQ writes, the
// routing of the dead-lettered copy and the cycle rule.

// rbDeadLetterSetup declares the fanout exchange "dlx" with the queue "dlq"
// bound to it, and the queue "src" dead-lettering to "dlx" with extra args.
// dlx is internal: dead-lettering, like an alternate exchange, may use one.
func rbDeadLetterSetup(t *testing.T, s *Session, srcArgs Table) {
	t.Helper()
	must(t, s.DeclareExchange("dlx", ExchangeOptions{Kind: KindFanout, Internal: true}))
	rbDeclare(t, s, "dlq", QueueOptions{})
	rbBind(t, s, "dlq", "dlx", "", nil)
	args := Table{ArgDLX: "dlx"}
	for k, v := range srcArgs {
		args[k] = v
	}
	rbDeclare(t, s, "src", QueueOptions{Args: args})
}

// rbDeaths returns the x-death array of d, failing unless it is one.
func rbDeaths(t *testing.T, d *Delivery) []Table {
	t.Helper()
	raw, ok := d.Message.Properties.Headers["x-death"].([]any)
	if !ok {
		t.Fatalf("x-death is %T, want an array: headers %v", d.Message.Properties.Headers["x-death"], d.Message.Properties.Headers)
	}
	out := make([]Table, len(raw))
	for i, v := range raw {
		tb, ok := v.(Table)
		if !ok {
			t.Fatalf("x-death[%d] is %T, want a table", i, v)
		}
		out[i] = tb
	}
	return out
}

// rbCheckDeath compares one x-death entry with want; the time field is
// compared as a time.Time.
func rbCheckDeath(t *testing.T, got Table, want Table, at time.Time) {
	t.Helper()
	tm, ok := got["time"].(time.Time)
	if !ok || !tm.Equal(at) {
		t.Fatalf("x-death time = %v (%T), want %v", got["time"], got["time"], at)
	}
	g := got.Clone()
	delete(g, "time")
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("x-death entry\n got  %#v\n want %#v", g, want)
	}
}

func rbCheckHeaders(t *testing.T, d *Delivery, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := d.Message.Properties.Headers[k]; got != v {
			t.Fatalf("header %s = %#v, want %q", k, got, v)
		}
	}
}

func TestDeadLetterReasons(t *testing.T) {
	props := Properties{ContentType: "text/plain", Headers: Table{"app": "kept"}, MessageID: "id-1"}
	cases := []struct {
		name     string
		args     Table
		expire   string // the message's expiration
		act      func(h *harness, s *Session)
		reason   string
		at       time.Duration // when it dies, from the start
		leftSrc  []string
		rejected bool // the publish confirm reports ResourceLimit
	}{
		{name: "rejected", reason: "rejected", act: func(h *harness, s *Session) {
			d := h.get(s, "src", false)
			must(h.t, s.Nack(d.Tag, NackOptions{}))
		}},
		{name: "rejected by a consumer, multiple", reason: "rejected", act: func(h *harness, s *Session) {
			_, k := rbConsume(h.t, s, "src", ConsumeOptions{})
			rbExpect(h.t, k, "m")
			must(h.t, s.Nack(k.deliveries()[0].Tag, NackOptions{Multiple: true}))
		}},
		{name: "expired by queue ttl", args: Table{ArgMessageTTL: int32(1500)}, reason: "expired", at: 1500 * time.Millisecond,
			act: func(h *harness, s *Session) { h.clock.Advance(1500 * time.Millisecond) }},
		{name: "expired by message ttl", expire: "2500", reason: "expired", at: 2500 * time.Millisecond,
			act: func(h *harness, s *Session) { h.clock.Advance(2500 * time.Millisecond) }},
		{name: "expired by message ttl below queue ttl", args: Table{ArgMessageTTL: int32(5000)}, expire: "1000",
			reason: "expired", at: time.Second, act: func(h *harness, s *Session) { h.clock.Advance(time.Second) }},
		{name: "expired on arrival, ttl 0", expire: "0", reason: "expired", act: func(*harness, *Session) {}},
		{name: "maxlen drop-head", args: Table{ArgMaxLength: int32(1)}, reason: "maxlen", leftSrc: []string{"n"},
			act: func(h *harness, s *Session) { rbPublish(h, s, "", "src", "n") }},
		{name: "maxlen drop-head by bytes", args: Table{ArgMaxLengthBytes: int32(1)}, reason: "maxlen", leftSrc: []string{"n"},
			act: func(h *harness, s *Session) { rbPublish(h, s, "", "src", "n") }},
		{name: "maxlen reject-publish-dlx", args: Table{ArgMaxLength: int32(0), ArgOverflow: OverflowRejectPublishDLX},
			reason: "maxlen", rejected: true, act: func(*harness, *Session) {}},
		{name: "delivery_limit", args: Table{ArgDeliveryLimit: int32(1)}, reason: "delivery_limit",
			act: func(h *harness, s *Session) {
				for i := 0; i < 2; i++ {
					d := h.get(s, "src", false)
					must(h.t, s.Nack(d.Tag, NackOptions{Requeue: true}))
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeadLetterSetup(t, s, tc.args)
			p := props
			p.Expiration = tc.expire
			err := h.publish(s, "", "src", "m", p)
			if tc.rejected {
				rbErr(t, err, ResourceLimit, "")
			} else {
				must(t, err)
			}
			tc.act(h, s)
			rbEqual(t, "left in src", h.drain(s, "src"), tc.leftSrc)
			d := h.get(s, "dlq", false)
			if d == nil {
				t.Fatal("nothing dead-lettered")
			}
			m := d.Message
			if string(m.Body) != "m" || m.Exchange != "dlx" || m.RoutingKey != "src" {
				t.Fatalf("dead-lettered message: body %q exchange %q key %q", m.Body, m.Exchange, m.RoutingKey)
			}
			if m.Properties.Expiration != "" {
				t.Fatalf("expiration %q kept; RabbitMQ removes it", m.Properties.Expiration)
			}
			if m.Properties.ContentType != "text/plain" || m.Properties.MessageID != "id-1" || m.Properties.Headers["app"] != "kept" {
				t.Fatalf("properties not kept: %+v", m.Properties)
			}
			want := Table{"count": int64(1), "reason": tc.reason, "queue": "src", "exchange": "",
				"routing-keys": []any{"src"}}
			if tc.expire != "" {
				want["original-expiration"] = tc.expire
			}
			deaths := rbDeaths(t, d)
			if len(deaths) != 1 {
				t.Fatalf("x-death has %d entries, want 1: %v", len(deaths), deaths)
			}
			rbCheckDeath(t, deaths[0], want, epoch.Add(tc.at).Truncate(time.Second))
			rbCheckHeaders(t, d, map[string]string{
				"x-first-death-reason": tc.reason, "x-first-death-queue": "src", "x-first-death-exchange": "",
				"x-last-death-reason": tc.reason, "x-last-death-queue": "src", "x-last-death-exchange": "",
			})
			if d := h.get(s, "dlq", false); d != nil {
				t.Fatalf("a second dead-lettered message: %q", d.Message.Body)
			}
		})
	}
}

// What does not dead-letter: a requeue, an ack, a drop without a DLX.
func TestDeadLetterNotDeadLettered(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeadLetterSetup(t, s, nil)
	rbPublish(h, s, "", "src", "a", "b")
	ds := rbGetN(h, s, "src", 2)
	must(t, s.Ack(ds[0].Tag, false))
	must(t, s.Nack(ds[1].Tag, NackOptions{Requeue: true}))
	rbEqual(t, "dlq", h.drain(s, "dlq"), nil)
	rbEqual(t, "src", h.drain(s, "src"), []string{"b"})

	// Without a DLX a rejected or expired message is simply dropped.
	rbDeclare(t, s, "plain", QueueOptions{Args: Table{ArgMessageTTL: int32(100)}})
	rbPublish(h, s, "", "plain", "x", "y")
	d := h.get(s, "plain", false)
	must(t, s.Nack(d.Tag, NackOptions{}))
	h.clock.Advance(time.Second)
	rbEqual(t, "plain", h.drain(s, "plain"), nil)
	rbEqual(t, "dlq", h.drain(s, "dlq"), nil)
}

// The dead-lettered copy loses its expiration, so it does not expire again in
// the dead-letter queue.
func TestDeadLetterDoesNotExpireAgain(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeadLetterSetup(t, s, nil)
	must(t, h.publish(s, "", "src", "m", Properties{Expiration: "100"}))
	h.clock.Advance(100 * time.Millisecond)
	h.clock.Advance(time.Hour)
	rbEqual(t, "dlq", h.drain(s, "dlq"), []string{"m"})
}

func TestDeadLetterRoutingKey(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "dlx", KindDirect, nil)
	rbDeclare(t, s, "by-dlrk", QueueOptions{})
	rbDeclare(t, s, "by-original", QueueOptions{})
	rbBind(t, s, "by-dlrk", "dlx", "dead", nil)
	rbBind(t, s, "by-original", "dlx", "orig", nil)
	rbDeclare(t, s, "src", QueueOptions{Args: Table{ArgDLX: "dlx", ArgDLRK: "dead"}})
	rbBind(t, s, "src", "amq.direct", "orig", nil)
	rbPublish(h, s, "amq.direct", "orig", "m")
	d := h.get(s, "src", false)
	must(t, s.Nack(d.Tag, NackOptions{}))
	rbEqual(t, "by-original", h.drain(s, "by-original"), nil)
	d = h.get(s, "by-dlrk", false)
	if d == nil {
		t.Fatal("not routed by x-dead-letter-routing-key")
	}
	if d.Message.RoutingKey != "dead" || d.Message.Exchange != "dlx" {
		t.Fatalf("routed as %q/%q", d.Message.Exchange, d.Message.RoutingKey)
	}
	rbCheckDeath(t, rbDeaths(t, d)[0], Table{"count": int64(1), "reason": "rejected", "queue": "src",
		"exchange": "amq.direct", "routing-keys": []any{"orig"}}, epoch)
	rbCheckHeaders(t, d, map[string]string{"x-first-death-exchange": "amq.direct"})

	// Without x-dead-letter-routing-key the original key routes it.
	rbDeclare(t, s, "src2", QueueOptions{Args: Table{ArgDLX: "dlx"}})
	rbBind(t, s, "src2", "amq.direct", "orig", nil)
	rbPublish(h, s, "amq.direct", "orig", "n")
	must(t, s.Nack(h.get(s, "src2", false).Tag, NackOptions{}))
	rbEqual(t, "by-original", h.drain(s, "by-original"), []string{"n"})
	rbEqual(t, "by-dlrk", h.drain(s, "by-dlrk"), nil)
}

// The default exchange as DLX, with a routing key naming the target queue: a
// common RabbitMQ idiom.
func TestDeadLetterViaDefaultExchange(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "dlq", QueueOptions{})
	rbDeclare(t, s, "src", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "dlq", ArgMessageTTL: int32(10)}})
	rbPublish(h, s, "", "src", "m")
	h.clock.Advance(10 * time.Millisecond)
	d := h.get(s, "dlq", false)
	if d == nil || d.Message.Exchange != "" || d.Message.RoutingKey != "dlq" {
		t.Fatalf("dead-lettered: %+v", d)
	}
}

// A DLX that does not exist drops the message (RabbitMQ logs and drops).
func TestDeadLetterMissingExchange(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "src", QueueOptions{Args: Table{ArgDLX: "nowhere", ArgMessageTTL: int32(100)}})
	rbPublish(h, s, "", "src", "a", "b")
	must(t, s.Nack(h.get(s, "src", false).Tag, NackOptions{}))
	h.clock.Advance(time.Second)
	rbEqual(t, "src", h.drain(s, "src"), nil)
	// A DLX declared later is used from then on.
	rbExchange(t, s, "nowhere", KindFanout, nil)
	rbDeclare(t, s, "dlq", QueueOptions{})
	rbBind(t, s, "dlq", "nowhere", "", nil)
	rbPublish(h, s, "", "src", "c")
	h.clock.Advance(time.Second)
	rbEqual(t, "dlq", h.drain(s, "dlq"), []string{"c"})
}

// reject-publish-dlx on a queue without a DLX refuses the message and
// dead-letters it nowhere: it must not be republished anywhere else.
func TestDeadLetterRejectPublishDLXWithoutDLX(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "k", QueueOptions{})
	rbDeclare(t, s, "full", QueueOptions{Args: Table{ArgMaxLength: int32(1), ArgOverflow: OverflowRejectPublishDLX}})
	rbBind(t, s, "full", "amq.direct", "k", nil)
	rbPublish(h, s, "amq.direct", "k", "1")
	rbErr(t, h.publish(s, "amq.direct", "k", "2", Properties{}), ResourceLimit, "")
	rbEqual(t, "full", h.drain(s, "full"), []string{"1"})
	rbEqual(t, "queue k, reached only through the default exchange", h.drain(s, "k"), nil)
}

// A message dies in src (rejected), then in mid (expired): x-death lists the
// newest first, x-first-death-* keeps the first, x-last-death-* the last.
func TestDeadLetterHistory(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "final", QueueOptions{})
	rbDeclare(t, s, "mid", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "final", ArgMessageTTL: int32(2000)}})
	rbDeclare(t, s, "src", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "mid"}})
	must(t, h.publish(s, "", "src", "m", Properties{Expiration: "60000"}))
	h.clock.Advance(1500 * time.Millisecond)
	must(t, s.Nack(h.get(s, "src", false).Tag, NackOptions{}))
	h.clock.Advance(2 * time.Second)
	d := h.get(s, "final", false)
	if d == nil {
		t.Fatal("nothing reached final")
	}
	deaths := rbDeaths(t, d)
	if len(deaths) != 2 {
		t.Fatalf("x-death = %v, want 2 entries", deaths)
	}
	rbCheckDeath(t, deaths[0], Table{"count": int64(1), "reason": "expired", "queue": "mid", "exchange": "",
		"routing-keys": []any{"mid"}}, epoch.Add(3500*time.Millisecond).Truncate(time.Second))
	rbCheckDeath(t, deaths[1], Table{"count": int64(1), "reason": "rejected", "queue": "src", "exchange": "",
		"routing-keys": []any{"src"}, "original-expiration": "60000"}, epoch.Add(time.Second))
	rbCheckHeaders(t, d, map[string]string{
		"x-first-death-reason": "rejected", "x-first-death-queue": "src", "x-first-death-exchange": "",
		"x-last-death-reason": "expired", "x-last-death-queue": "mid", "x-last-death-exchange": "",
	})
}

// Dying again in the same queue for the same reason counts the entry up and
// moves it to the front; its time stays that of the first such death, as in
// RabbitMQ. A rejection in the loop lets the message through every time.
func TestDeadLetterCountIncrements(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "other", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "loop"}})
	rbDeclare(t, s, "loop", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "loop"}})
	rbPublish(h, s, "", "other", "m")
	must(t, s.Nack(h.get(s, "other", false).Tag, NackOptions{}))
	for i := 1; i <= 3; i++ {
		h.clock.Advance(time.Second)
		d := h.get(s, "loop", false)
		if d == nil {
			t.Fatalf("round %d: message lost", i)
		}
		must(t, s.Nack(d.Tag, NackOptions{}))
	}
	d := h.get(s, "loop", false)
	if d == nil {
		t.Fatal("message lost")
	}
	deaths := rbDeaths(t, d)
	if len(deaths) != 2 {
		t.Fatalf("x-death = %v, want 2 entries", deaths)
	}
	rbCheckDeath(t, deaths[0], Table{"count": int64(3), "reason": "rejected", "queue": "loop", "exchange": "",
		"routing-keys": []any{"loop"}}, epoch.Add(time.Second))
	rbCheckDeath(t, deaths[1], Table{"count": int64(1), "reason": "rejected", "queue": "other", "exchange": "",
		"routing-keys": []any{"other"}}, epoch)
	rbCheckHeaders(t, d, map[string]string{"x-first-death-queue": "other", "x-last-death-queue": "loop"})
}

// RabbitMQ's cycle rule: a message dead-lettered into a queue it already died
// in is dropped unless a rejection happened since that death.
func TestDeadLetterCycle(t *testing.T) {
	t.Run("expiry loop on one queue is dropped", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "a", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "a", ArgMessageTTL: int32(100)}})
		rbPublish(h, s, "", "a", "m")
		h.clock.Advance(100 * time.Millisecond)
		if n := rbInfo(h, "a").Ready; n != 0 {
			t.Fatalf("%d ready: the cycle was not broken", n)
		}
	})
	t.Run("expiry loop through two queues is dropped", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbExchange(t, s, "dlx", KindDirect, nil)
		rbDeclare(t, s, "a", QueueOptions{Args: Table{ArgDLX: "dlx", ArgDLRK: "to-b", ArgMessageTTL: int32(100)}})
		rbDeclare(t, s, "b", QueueOptions{Args: Table{ArgDLX: "dlx", ArgDLRK: "to-a", ArgMessageTTL: int32(100)}})
		rbBind(t, s, "a", "dlx", "to-a", nil)
		rbBind(t, s, "b", "dlx", "to-b", nil)
		rbDeclare(t, s, "witness", QueueOptions{})
		rbBind(t, s, "witness", "dlx", "to-a", nil)
		rbPublish(h, s, "", "a", "m")
		h.clock.Advance(100 * time.Millisecond) // a → b
		if n := rbInfo(h, "b").Ready; n != 1 {
			t.Fatalf("b has %d, want 1", n)
		}
		h.clock.Advance(100 * time.Millisecond) // b → a would cycle; witness gets it
		if a, b := rbInfo(h, "a").Ready, rbInfo(h, "b").Ready; a != 0 || b != 0 {
			t.Fatalf("a=%d b=%d: the cycle was not broken", a, b)
		}
		// Only the queue that closes the cycle is skipped.
		rbEqual(t, "witness", h.drain(s, "witness"), []string{"m"})
	})
	t.Run("a rejection in the loop is not a cycle", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "a", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "a"}})
		rbPublish(h, s, "", "a", "m")
		must(t, s.Nack(h.get(s, "a", false).Tag, NackOptions{}))
		rbEqual(t, "a", h.drain(s, "a"), []string{"m"})
	})
	t.Run("a rejection older than the earlier death does not break the cycle", func(t *testing.T) {
		// r rejects into a; a expires into a: x-death is [a/expired, r/rejected]
		// and the rejection is older than a's death, so it is a cycle
		// (RabbitMQ mc:is_cycle_v2).
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "a", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "a", ArgMessageTTL: int32(100)}})
		rbDeclare(t, s, "r", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "a"}})
		rbPublish(h, s, "", "r", "m")
		must(t, s.Nack(h.get(s, "r", false).Tag, NackOptions{}))
		if n := rbInfo(h, "a").Ready; n != 1 {
			t.Fatalf("a has %d, want 1", n)
		}
		h.clock.Advance(100 * time.Millisecond)
		if n := rbInfo(h, "a").Ready; n != 0 {
			t.Fatalf("a has %d after expiry: the cycle was not broken", n)
		}
	})
	t.Run("rejected, then expired twice is a cycle", func(t *testing.T) {
		// a (reject) → a: fine; then a (expire) → a: a's newest death
		// before this one was a rejection, but the expiry itself is the
		// newest death and names a: dropped.
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "a", QueueOptions{Args: Table{ArgDLX: "", ArgDLRK: "a", ArgMessageTTL: int32(100)}})
		rbPublish(h, s, "", "a", "m")
		must(t, s.Nack(h.get(s, "a", false).Tag, NackOptions{}))
		if n := rbInfo(h, "a").Ready; n != 1 {
			t.Fatalf("a has %d after the rejection, want 1", n)
		}
		h.clock.Advance(100 * time.Millisecond)
		if n := rbInfo(h, "a").Ready; n != 0 {
			t.Fatalf("a has %d after expiry: the cycle was not broken", n)
		}
	})
}
