package core

import (
	"fmt"
	"sync"
	"testing"
)

// Push consumers: round robin, consumer priority, credit (prefetch by count,
// bytes and per session), no-ack, refusing sinks, settlement, exclusivity and
// single active consumer.

func TestConsumerRoundRobin(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	var ks []*sink
	for i := 0; i < 3; i++ {
		_, k := rbConsume(t, s, "q", ConsumeOptions{})
		ks = append(ks, k)
	}
	rbPublish(h, s, "", "q", rbNums(9)...)
	rbExpect(t, ks[0], "1", "4", "7")
	rbExpect(t, ks[1], "2", "5", "8")
	rbExpect(t, ks[2], "3", "6", "9")
}

// Round robin skips consumers without credit and comes back to them.
func TestConsumerRoundRobinSkipsFull(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	_, a := rbConsume(t, s, "q", ConsumeOptions{PrefetchCount: 1})
	_, b := rbConsume(t, s, "q", ConsumeOptions{})
	rbPublish(h, s, "", "q", rbNums(4)...)
	rbExpect(t, a, "1")
	rbExpect(t, b, "2", "3", "4")
	must(t, s.Ack(a.deliveries()[0].Tag, false))
	rbPublish(h, s, "", "q", "5", "6")
	rbExpect(t, a, "1", "5")
	rbExpect(t, b, "2", "3", "4", "6")
}

// Consumer priority (x-priority): a higher priority consumer gets every
// message while it has credit; lower ones get the overflow; equal priorities
// round-robin.
func TestConsumerPriority(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	_, low := rbConsume(t, s, "q", ConsumeOptions{Priority: -1})
	_, mid := rbConsume(t, s, "q", ConsumeOptions{})
	_, high1 := rbConsume(t, s, "q", ConsumeOptions{Priority: 10, PrefetchCount: 2})
	_, high2 := rbConsume(t, s, "q", ConsumeOptions{Priority: 10, PrefetchCount: 1})
	rbPublish(h, s, "", "q", rbNums(5)...)
	rbExpect(t, high1, "1", "3")
	rbExpect(t, high2, "2")
	rbExpect(t, mid, "4", "5")
	rbEqual(t, "low", low.bodies(), nil)
	// Credit returns to a high priority consumer: it gets the next message.
	must(t, s.Ack(high2.deliveries()[0].Tag, false))
	rbPublish(h, s, "", "q", "6", "7")
	rbExpect(t, high2, "2", "6")
	rbExpect(t, mid, "4", "5", "7")
	rbEqual(t, "low", low.bodies(), nil)
}

func TestConsumerPrefetchCount(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", rbNums(5)...)
	c, k := rbConsume(t, s, "q", ConsumeOptions{PrefetchCount: 2})
	rbExpect(t, k, "1", "2")
	if info := rbInfo(h, "q"); info.Ready != 3 || info.Unacked != 2 {
		t.Fatalf("info %+v", info)
	}
	must(t, s.Ack(k.deliveries()[1].Tag, false))
	rbExpect(t, k, "1", "2", "3")
	// basic.qos on a live consumer.
	c.SetPrefetch(4, 0)
	rbExpect(t, k, "1", "2", "3", "4", "5")
	c.SetPrefetch(1, 0)
	rbPublish(h, s, "", "q", "6")
	if len(k.deliveries()) != 5 {
		t.Fatalf("delivered beyond the lowered prefetch: %q", k.bodies())
	}
	must(t, s.Ack(0, true))
	rbExpect(t, k, "1", "2", "3", "4", "5", "6")
}

func TestConsumerPrefetchBytes(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "aaaa", "bbbb", "cccc", "ddd")
	_, k := rbConsume(t, s, "q", ConsumeOptions{PrefetchBytes: 10})
	rbExpect(t, k, "aaaa", "bbbb") // 12 bytes with cccc
	must(t, s.Ack(k.deliveries()[0].Tag, false))
	rbExpect(t, k, "aaaa", "bbbb", "cccc") // 11 bytes with ddd
	must(t, s.Ack(k.deliveries()[1].Tag, false))
	rbExpect(t, k, "aaaa", "bbbb", "cccc", "ddd") // exactly 7
	rbPublish(h, s, "", "q", "eee")
	rbExpect(t, k, "aaaa", "bbbb", "cccc", "ddd", "eee") // exactly 10

	// A message larger than the byte limit is still delivered, alone.
	rbDeclare(t, s, "big", QueueOptions{})
	big := string(make([]byte, 100))
	rbPublish(h, s, "", "big", big, big)
	_, kb := rbConsume(t, s, "big", ConsumeOptions{PrefetchBytes: 10})
	waitFor(t, "the first big message", func() bool { return len(kb.deliveries()) == 1 })
	if info := rbInfo(h, "big"); info.Ready != 1 {
		t.Fatalf("info %+v: the second big message should wait", info)
	}
	must(t, s.Ack(kb.deliveries()[0].Tag, false))
	waitFor(t, "the second big message", func() bool { return len(kb.deliveries()) == 2 })
}

// Session-wide prefetch (basic.qos global) bounds the unsettled deliveries of
// all the session's consumers together, across queues.
func TestConsumerSessionPrefetch(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "qa", QueueOptions{})
	rbDeclare(t, s, "qb", QueueOptions{})
	rbPublish(h, s, "", "qa", "a1", "a2")
	rbPublish(h, s, "", "qb", "b1", "b2")
	s.SetPrefetch(2)
	_, ka := rbConsume(t, s, "qa", ConsumeOptions{})
	_, kb := rbConsume(t, s, "qb", ConsumeOptions{})
	rbExpect(t, ka, "a1", "a2")
	rbEqual(t, "qb before any ack", kb.bodies(), nil)
	// Acking on qa frees session credit that qb's consumer must get.
	must(t, s.Ack(ka.deliveries()[0].Tag, false))
	rbExpect(t, kb, "b1")
	if n := s.Unacked(); n != 2 {
		t.Fatalf("%d unacked, want 2", n)
	}
	must(t, s.Ack(ka.deliveries()[1].Tag, false))
	rbExpect(t, kb, "b1", "b2")
	// Another session is not limited by this one.
	other := h.session("")
	rbPublish(h, s, "", "qa", "a3", "a4", "a5")
	_, ko := rbConsume(t, other, "qa", ConsumeOptions{Priority: 1})
	rbExpect(t, ko, "a3", "a4", "a5")
	// Raising the limit lets the waiting consumer go on.
	rbPublish(h, s, "", "qb", "b3")
	rbEqual(t, "qb at the limit", kb.bodies(), []string{"b1", "b2"})
	s.SetPrefetch(3)
	rbExpect(t, kb, "b1", "b2", "b3")
	// Removing the limit too.
	rbPublish(h, s, "", "qb", "b4")
	rbEqual(t, "qb at the limit", kb.bodies(), []string{"b1", "b2", "b3"})
	s.SetPrefetch(0)
	rbExpect(t, kb, "b1", "b2", "b3", "b4")
}

// As in RabbitMQ, basic.get deliveries do not count against the session-wide
// prefetch: only consumer deliveries do.
func TestConsumerSessionPrefetchIgnoresGet(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "qa", QueueOptions{})
	rbDeclare(t, s, "qb", QueueOptions{})
	rbPublish(h, s, "", "qa", "a1", "a2")
	s.SetPrefetch(1)
	rbGetN(h, s, "qa", 2)
	_, k := rbConsume(t, s, "qb", ConsumeOptions{})
	rbPublish(h, s, "", "qb", "b1", "b2")
	rbExpect(t, k, "b1")
	must(t, s.Ack(k.deliveries()[0].Tag, false))
	rbExpect(t, k, "b1", "b2")
}

func TestConsumerNoAck(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", rbNums(3)...)
	_, k := rbConsume(t, s, "q", ConsumeOptions{NoAck: true, PrefetchCount: 1})
	// Prefetch does not apply to no-ack consumers.
	rbExpect(t, k, "1", "2", "3")
	if info := rbInfo(h, "q"); info.Ready != 0 || info.Unacked != 0 {
		t.Fatalf("info %+v", info)
	}
	if n := s.Unacked(); n != 0 {
		t.Fatalf("session has %d unacked", n)
	}
	rbErr(t, s.Ack(k.deliveries()[0].Tag, false), PreconditionFailed, "unknown delivery tag")
	// Closing the session requeues nothing: the messages are gone.
	s.Close()
	if n := rbInfo(h, "q").Ready; n != 0 {
		t.Fatalf("%d ready after close", n)
	}
}

// A sink that refuses a delivery gets nothing more until Resume, and the
// refused message is not lost: it is delivered first, not redelivered.
func TestConsumerSinkRefuses(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "1", "2")
	k := newSink()
	k.refuse = true
	c, err := s.Consume("q", ConsumeOptions{}, k)
	must(t, err)
	rbPublish(h, s, "", "q", "3")
	k.mu.Lock()
	k.refuse = false
	k.mu.Unlock()
	rbPublish(h, s, "", "q", "4")
	if got := k.bodies(); len(got) != 0 {
		t.Fatalf("delivered %q before Resume", got)
	}
	if info := rbInfo(h, "q"); info.Ready != 4 || info.Unacked != 0 {
		t.Fatalf("info %+v", info)
	}
	c.Resume()
	rbExpect(t, k, "1", "2", "3", "4")
	for _, d := range k.deliveries() {
		if d.Redelivered || d.Count != 1 {
			t.Fatalf("%q: redelivered=%v count=%d after a refusal", d.Message.Body, d.Redelivered, d.Count)
		}
	}
	// The refused deliveries' tags are not pending: acking all settles 4.
	must(t, s.Ack(0, true))
	if n := rbInfo(h, "q").Unacked; n != 0 {
		t.Fatalf("%d unacked", n)
	}
}

// onceSink refuses its first delivery only.
type onceSink struct {
	*sink
	mu      sync.Mutex
	refused bool
	offered []string
}

func (o *onceSink) TryDeliver(d *Delivery) bool {
	o.mu.Lock()
	o.offered = append(o.offered, string(d.Message.Body))
	first := !o.refused
	o.refused = true
	o.mu.Unlock()
	if first {
		return false
	}
	return o.sink.TryDeliver(d)
}

// After one refusal core must not offer the consumer anything else, even
// within the same dispatch batch, or messages would arrive out of order.
func TestConsumerSinkRefusesOnce(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", rbNums(3)...)
	o := &onceSink{sink: newSink()}
	c, err := s.Consume("q", ConsumeOptions{}, o)
	must(t, err)
	o.mu.Lock()
	offered := append([]string(nil), o.offered...)
	o.mu.Unlock()
	rbEqual(t, "offered before Resume", offered, []string{"1"})
	c.Resume()
	rbExpect(t, o.sink, "1", "2", "3")
}

func TestConsumerAckNackMultiple(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", rbNums(6)...)
	_, k := rbConsume(t, s, "q", ConsumeOptions{PrefetchCount: 6})
	rbExpect(t, k, rbNums(6)...)
	ds := k.deliveries()
	for i := 1; i < len(ds); i++ {
		if ds[i].Tag <= ds[i-1].Tag {
			t.Fatalf("tags not increasing: %d then %d", ds[i-1].Tag, ds[i].Tag)
		}
	}
	must(t, s.Ack(ds[1].Tag, false))                          // 2
	must(t, s.Ack(ds[2].Tag, true))                           // 1, 3
	rbErr(t, s.Ack(ds[0].Tag, false), PreconditionFailed, "") // already acked by multiple
	if n := s.Unacked(); n != 3 {
		t.Fatalf("%d unacked, want 3", n)
	}
	// Nack multiple with requeue: 4 and 5 go back, in order, to the consumer.
	must(t, s.Nack(ds[4].Tag, NackOptions{Multiple: true, Requeue: true}))
	rbExpect(t, k, "1", "2", "3", "4", "5", "6", "4", "5")
	// Nack multiple without requeue drops everything up to the tag.
	ds = k.deliveries()
	must(t, s.Nack(ds[7].Tag, NackOptions{Multiple: true}))
	if info := rbInfo(h, "q"); info.Ready != 0 || info.Unacked != 0 {
		t.Fatalf("info %+v", info)
	}
	// Multiple with tag 0 settles everything; with nothing pending it is a no-op.
	rbPublish(h, s, "", "q", "7", "8")
	rbExpect(t, k, "1", "2", "3", "4", "5", "6", "4", "5", "7", "8")
	must(t, s.Ack(0, true))
	if n := rbInfo(h, "q").Unacked; n != 0 {
		t.Fatalf("%d unacked after ack all", n)
	}
	must(t, s.Ack(0, true))
}

func TestConsumerBadTags(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	other := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "1", "2")
	d := h.get(s, "q", false)
	cases := []struct {
		name string
		do   func() error
	}{
		{"ack unknown", func() error { return s.Ack(d.Tag+100, false) }},
		{"ack multiple unknown", func() error { return s.Ack(d.Tag+100, true) }},
		{"ack zero", func() error { return s.Ack(0, false) }},
		{"nack unknown", func() error { return s.Nack(d.Tag+100, NackOptions{}) }},
		{"ack on another session", func() error { return other.Ack(d.Tag, false) }},
		{"nack on another session", func() error { return other.Nack(d.Tag, NackOptions{Requeue: true}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rbErr(t, tc.do(), PreconditionFailed, "unknown delivery tag")
		})
	}
	must(t, s.Ack(d.Tag, false))
	rbErr(t, s.Ack(d.Tag, false), PreconditionFailed, fmt.Sprintf("unknown delivery tag %d", d.Tag))
	rbErr(t, s.Nack(d.Tag, NackOptions{}), PreconditionFailed, "unknown delivery tag")
	// The failed settlements changed nothing.
	rbEqual(t, "left", h.drain(s, "q"), []string{"2"})
}

// basic.cancel stops deliveries; what was delivered stays with the session,
// to be settled as usual.
func TestConsumerCancelKeepsDeliveries(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "1", "2", "3")
	_, k := rbConsume(t, s, "q", ConsumeOptions{Tag: "c", PrefetchCount: 2})
	rbExpect(t, k, "1", "2")
	must(t, s.Cancel("c"))
	rbPublish(h, s, "", "q", "4")
	if info := rbInfo(h, "q"); info.Consumers != 0 || info.Unacked != 2 || info.Ready != 2 {
		t.Fatalf("info after cancel %+v", info)
	}
	ds := k.deliveries()
	must(t, s.Ack(ds[0].Tag, false))
	must(t, s.Nack(ds[1].Tag, NackOptions{Requeue: true}))
	rbEqual(t, "sink after cancel", k.bodies(), []string{"1", "2"})
	rbEqual(t, "queue", h.drain(s, "q"), []string{"2", "3", "4"})
}

func TestConsumerTagReuse(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbDeclare(t, s, "q2", QueueOptions{})
	rbConsume(t, s, "q", ConsumeOptions{Tag: "t"})
	_, err := s.Consume("q2", ConsumeOptions{Tag: "t"}, newSink())
	rbErr(t, err, InvalidArgument, "attempt to reuse consumer tag 't'")
	if n := rbInfo(h, "q2").Consumers; n != 0 {
		t.Fatalf("q2 has %d consumers after a refused consume", n)
	}
	// Another session may use the tag.
	rbConsume(t, h.session(""), "q", ConsumeOptions{Tag: "t"})
	// After a cancel the tag is free again.
	must(t, s.Cancel("t"))
	rbConsume(t, s, "q2", ConsumeOptions{Tag: "t"})
	rbErr(t, s.Cancel("nope"), NotFound, "")
	// Server-chosen tags are distinct.
	c1, _ := rbConsume(t, s, "q", ConsumeOptions{})
	c2, _ := rbConsume(t, s, "q", ConsumeOptions{})
	if c1.Tag() == c2.Tag() || c1.Tag() == "" {
		t.Fatalf("generated tags %q and %q", c1.Tag(), c2.Tag())
	}
}

func TestConsumerExclusive(t *testing.T) {
	t.Run("exclusive first", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "q", QueueOptions{})
		rbConsume(t, s, "q", ConsumeOptions{Tag: "x", Exclusive: true})
		other := h.session("")
		_, err := other.Consume("q", ConsumeOptions{}, newSink())
		rbErr(t, err, AccessRefused, "queue 'q' in vhost '/' in exclusive use")
		_, err = s.Consume("q", ConsumeOptions{}, newSink())
		rbErr(t, err, AccessRefused, "in exclusive use")
		_, err = other.Consume("q", ConsumeOptions{Exclusive: true}, newSink())
		rbErr(t, err, AccessRefused, "in exclusive use")
		if n := rbInfo(h, "q").Consumers; n != 1 {
			t.Fatalf("%d consumers", n)
		}
		// Once the exclusive consumer is gone, others may consume.
		must(t, s.Cancel("x"))
		rbConsume(t, other, "q", ConsumeOptions{})
	})
	t.Run("exclusive second", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "q", QueueOptions{})
		rbConsume(t, s, "q", ConsumeOptions{Tag: "shared"})
		_, err := h.session("").Consume("q", ConsumeOptions{Exclusive: true}, newSink())
		rbErr(t, err, AccessRefused, "in exclusive use")
		must(t, s.Cancel("shared"))
		rbConsume(t, h.session(""), "q", ConsumeOptions{Exclusive: true})
	})
}

// Single active consumer: only one consumer receives; when it goes, the next
// (highest priority, then oldest) takes over.
func TestConsumerSingleActive(t *testing.T) {
	h := newHarness(t)
	s1, s2, s3 := h.session(""), h.session(""), h.session("")
	rbDeclare(t, s1, "q", QueueOptions{Args: Table{ArgSingleActive: true}})
	rbConsume(t, s1, "q", ConsumeOptions{Tag: "first"})
	_, k1 := rbConsume(t, s1, "q", ConsumeOptions{Tag: "first-b"})
	_, k2 := rbConsume(t, s2, "q", ConsumeOptions{Tag: "second"})
	_, k3 := rbConsume(t, s3, "q", ConsumeOptions{Tag: "high", Priority: 5})
	rbPublish(h, s1, "", "q", "1", "2")
	// "first" got them: it is the active consumer. Its sink is not kept, so
	// check through the queue and the other sinks.
	if info := rbInfo(h, "q"); info.Unacked != 2 || info.Consumers != 4 {
		t.Fatalf("info %+v", info)
	}
	for i, k := range []*sink{k1, k2, k3} {
		if n := len(k.deliveries()); n != 0 {
			t.Fatalf("inactive consumer %d got %d messages", i, n)
		}
	}
	// Cancel: the highest priority consumer takes over; the cancelled
	// consumer's deliveries stay with its session (basic.cancel).
	must(t, s1.Cancel("first"))
	rbPublish(h, s1, "", "q", "3")
	rbExpect(t, k3, "3")
	// Closing the first session returns 1 and 2 to the active consumer.
	s1.Close()
	rbExpect(t, k3, "3", "1", "2")
	// The active one goes: the oldest of the rest takes over.
	s3.Close()
	rbPublish(h, s2, "", "q", "4")
	rbExpect(t, k2, "1", "2", "3", "4")
	rbEqual(t, "first-b", k1.bodies(), nil)
}

// When the active consumer's session closes, its unacknowledged messages go
// back to their places and the next consumer gets everything in order.
func TestConsumerSingleActiveSessionClose(t *testing.T) {
	h := newHarness(t)
	s1, s2 := h.session(""), h.session("")
	rbDeclare(t, s1, "q", QueueOptions{Args: Table{ArgSingleActive: true}})
	_, k1 := rbConsume(t, s1, "q", ConsumeOptions{PrefetchCount: 2})
	_, k2 := rbConsume(t, s2, "q", ConsumeOptions{})
	rbPublish(h, s1, "", "q", rbNums(4)...)
	rbExpect(t, k1, "1", "2")
	rbEqual(t, "inactive", k2.bodies(), nil)
	s1.Close()
	rbExpect(t, k2, "1", "2", "3", "4")
	ds := k2.deliveries()
	if !ds[0].Redelivered || !ds[1].Redelivered || ds[2].Redelivered {
		t.Fatal("redelivered flags wrong")
	}
}

// A closing session's messages go to the remaining consumers as their credit
// allows, ahead of later messages.
func TestConsumerSessionCloseRequeueOrder(t *testing.T) {
	h := newHarness(t)
	s1, s2 := h.session(""), h.session("")
	rbDeclare(t, s1, "q", QueueOptions{})
	_, k1 := rbConsume(t, s1, "q", ConsumeOptions{PrefetchCount: 2})
	rbPublish(h, s1, "", "q", rbNums(4)...)
	rbExpect(t, k1, "1", "2")
	_, k2 := rbConsume(t, s2, "q", ConsumeOptions{PrefetchCount: 2})
	rbExpect(t, k2, "3", "4")
	rbPublish(h, s1, "", "q", "5")
	must(t, s2.Ack(0, true))
	rbExpect(t, k2, "3", "4", "5")
	s1.Close()
	rbExpect(t, k2, "3", "4", "5", "1")
	must(t, s2.Ack(0, true))
	rbExpect(t, k2, "3", "4", "5", "1", "2")
}
