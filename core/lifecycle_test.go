package core

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Queue lifecycles: exclusive, auto-delete, x-expires, server-named queues,
// reserved names, passive declaration, conditional delete, purge, and the
// consumer cancel notification.

func TestLifecycleExclusiveQueue(t *testing.T) {
	h := newHarness(t)
	owner := h.session("")
	rbDeclare(t, owner, "ex", QueueOptions{Exclusive: true})
	rbPublish(h, owner, "", "ex", "m")

	other := h.session("") // another connection
	locked := []struct {
		name string
		do   func() error
	}{
		{"declare", func() error { _, err := other.DeclareQueue("ex", QueueOptions{Exclusive: true}); return err }},
		{"declare non-exclusive", func() error { _, err := other.DeclareQueue("ex", QueueOptions{}); return err }},
		{"passive declare", func() error { _, err := other.DeclareQueue("ex", QueueOptions{Passive: true}); return err }},
		{"consume", func() error { _, err := other.Consume("ex", ConsumeOptions{}, newSink()); return err }},
		{"get", func() error { _, err := other.Get(context.Background(), "ex", GetOptions{}); return err }},
		{"bind", func() error { return other.Bind("ex", "amq.fanout", "", nil, false) }},
		{"unbind", func() error { return other.Unbind("ex", "amq.fanout", "", nil, false) }},
		{"delete", func() error { _, err := other.DeleteQueue("ex", DeleteQueueOptions{}); return err }},
		{"purge", func() error { _, err := other.Purge("ex"); return err }},
	}
	for _, tc := range locked {
		t.Run(tc.name, func(t *testing.T) {
			rbErr(t, tc.do(), ResourceLocked, "cannot obtain exclusive access to locked queue 'ex' in vhost '/'")
		})
	}
	// Publishing to it from elsewhere is allowed, as in RabbitMQ.
	rbPublish(h, other, "", "ex", "from-other")

	// Another session of the owning connection has full use of it.
	owner2, err := owner.Connection().OpenSession()
	must(t, err)
	_, k := rbConsume(t, owner2, "ex", ConsumeOptions{})
	rbExpect(t, k, "m", "from-other")
	// Closing the declaring session does not delete it; closing the
	// connection does.
	owner.Close()
	if rbQueue(h, "ex") == nil {
		t.Fatal("exclusive queue deleted with its session")
	}
	owner.Connection().Close()
	if rbQueue(h, "ex") != nil {
		t.Fatal("exclusive queue survived its connection")
	}
	_, err = other.DeclareQueue("ex", QueueOptions{Passive: true})
	rbErr(t, err, NotFound, "")
	// The name is free again.
	rbDeclare(t, other, "ex", QueueOptions{Exclusive: true})
}

func TestLifecycleAutoDelete(t *testing.T) {
	t.Run("not before a first consumer", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "ad", QueueOptions{AutoDelete: true})
		rbPublish(h, s, "", "ad", "m")
		h.get(s, "ad", true)
		// A long-polling Get is not a consumer either.
		if _, err := s.Get(context.Background(), "ad", GetOptions{Wait: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		if rbQueue(h, "ad") == nil {
			t.Fatal("auto-delete queue deleted without ever having a consumer")
		}
	})
	t.Run("when the last consumer cancels", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "ad", QueueOptions{AutoDelete: true})
		rbConsume(t, s, "ad", ConsumeOptions{Tag: "a"})
		rbConsume(t, s, "ad", ConsumeOptions{Tag: "b"})
		must(t, s.Cancel("a"))
		if rbQueue(h, "ad") == nil {
			t.Fatal("deleted while a consumer remains")
		}
		must(t, s.Cancel("b"))
		if rbQueue(h, "ad") != nil {
			t.Fatal("not deleted after its last consumer cancelled")
		}
	})
	t.Run("when the last consumer's session closes", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "ad", QueueOptions{AutoDelete: true})
		rbBind(t, s, "ad", "amq.fanout", "", nil)
		other := h.session("")
		rbConsume(t, other, "ad", ConsumeOptions{})
		rbPublish(h, s, "amq.fanout", "", "m")
		other.Close()
		if rbQueue(h, "ad") != nil {
			t.Fatal("not deleted after its consumer's session closed")
		}
		// Its binding went with it.
		res, err := s.Publish(&Message{Exchange: "amq.fanout", Body: []byte("x")}, PublishOptions{})
		must(t, err)
		if res.Routed != 0 {
			t.Fatalf("routed to %d queues after deletion", res.Routed)
		}
	})
}

// x-expires deletes a queue unused for the given time: no consumers, no Get,
// no redeclaration. Publishing does not count as use, as in RabbitMQ.
func TestLifecycleExpires(t *testing.T) {
	const ttl = time.Second
	args := Table{ArgExpires: int32(1000)}
	cases := []struct {
		name string
		// use runs at 600 ms; the queue must then live until 600ms+ttl
		use func(h *harness, s *Session)
		at  time.Duration // expected deletion time
	}{
		{"unused", func(*harness, *Session) {}, ttl},
		{"publish is not use", func(h *harness, s *Session) { rbPublish(h, s, "", "q", "m") }, ttl},
		{"get", func(h *harness, s *Session) { h.get(s, "q", true) }, 600*time.Millisecond + ttl},
		{"redeclare", func(h *harness, s *Session) { rbDeclare(h.t, s, "q", QueueOptions{Args: args}) }, 600*time.Millisecond + ttl},
		{"passive declare", func(h *harness, s *Session) { rbDeclare(h.t, s, "q", QueueOptions{Passive: true}) }, 600*time.Millisecond + ttl},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{Args: args})
			h.clock.Advance(600 * time.Millisecond)
			tc.use(h, s)
			h.clock.Advance(tc.at - 600*time.Millisecond - time.Millisecond)
			if rbQueue(h, "q") == nil {
				t.Fatal("deleted 1ms early")
			}
			h.clock.Advance(time.Millisecond)
			if rbQueue(h, "q") != nil {
				t.Fatal("not deleted on time")
			}
		})
	}
	t.Run("a consumer keeps it alive", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "q", QueueOptions{Args: args})
		rbConsume(t, s, "q", ConsumeOptions{Tag: "c"})
		h.clock.Advance(time.Hour)
		if rbQueue(h, "q") == nil {
			t.Fatal("deleted while consumed")
		}
		must(t, s.Cancel("c"))
		h.clock.Advance(ttl - time.Millisecond)
		if rbQueue(h, "q") == nil {
			t.Fatal("deleted 1ms early after the consumer left")
		}
		h.clock.Advance(time.Millisecond)
		if rbQueue(h, "q") != nil {
			t.Fatal("not deleted after the consumer left")
		}
	})
	t.Run("messages go with it", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "q", QueueOptions{Args: args})
		rbPublish(h, s, "", "q", "m")
		h.clock.Advance(ttl)
		if rbQueue(h, "q") != nil {
			t.Fatal("not deleted")
		}
		rbDeclare(t, s, "q", QueueOptions{})
		rbEqual(t, "redeclared queue", h.drain(s, "q"), nil)
	})
}

func TestLifecycleServerNamed(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	a := rbDeclare(t, s, "", QueueOptions{Exclusive: true})
	b := rbDeclare(t, s, "", QueueOptions{})
	for _, n := range []string{a.Name, b.Name} {
		if !strings.HasPrefix(n, "amq.gen-") || len(n) <= len("amq.gen-") {
			t.Fatalf("server-named queue %q", n)
		}
	}
	if a.Name == b.Name {
		t.Fatalf("two server-named queues share the name %q", a.Name)
	}
	rbPublish(h, s, "", a.Name, "m")
	rbEqual(t, a.Name, h.drain(s, a.Name), []string{"m"})
	// The generated name can be used as any other.
	rbDeclare(t, s, b.Name, QueueOptions{Passive: true})
	_, err := s.DeleteQueue(b.Name, DeleteQueueOptions{})
	must(t, err)
}

func TestLifecycleReservedName(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	for _, n := range []string{"amq.q", "amq.", "amq.gen-mine"} {
		_, err := s.DeclareQueue(n, QueueOptions{})
		rbErr(t, err, AccessRefused, "queue name '"+n+"' contains reserved prefix 'amq.*'")
	}
	// Only the "amq." prefix is reserved.
	rbDeclare(t, s, "amqx", QueueOptions{})
	rbDeclare(t, s, "AMQ.upper", QueueOptions{})
}

func TestLifecyclePassiveDeclare(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	_, err := s.DeclareQueue("missing", QueueOptions{Passive: true})
	rbErr(t, err, NotFound, "no queue 'missing' in vhost '/'")
	if rbQueue(h, "missing") != nil {
		t.Fatal("a passive declaration created the queue")
	}
	rbDeclare(t, s, "q", QueueOptions{Durable: true, Args: Table{ArgMaxLength: int32(10)}})
	rbPublish(h, s, "", "q", "1", "2", "3")
	h.get(s, "q", false)
	rbConsume(t, s, "q", ConsumeOptions{PrefetchCount: 1})
	// Passive ignores the other properties and reports the counters.
	info, err := s.DeclareQueue("q", QueueOptions{Passive: true, Durable: false, Args: Table{ArgMaxLength: int32(1)}})
	must(t, err)
	if info.Name != "q" || info.Ready != 1 || info.Unacked != 2 || info.Consumers != 1 || !info.Durable {
		t.Fatalf("info %+v", info)
	}
	// An active declaration reports them too.
	info = rbDeclare(t, s, "q", QueueOptions{Durable: true, Args: Table{ArgMaxLength: int32(10)}})
	if info.Ready != 1 || info.Consumers != 1 {
		t.Fatalf("info %+v", info)
	}
}

func TestLifecycleDelete(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(h *harness, s *Session)
		o        DeleteQueueOptions
		err      string // PreconditionFailed message part; "" for success
		messages int
	}{
		{"empty", func(*harness, *Session) {}, DeleteQueueOptions{}, "", 0},
		{"with messages", func(h *harness, s *Session) { rbPublish(h, s, "", "q", "1", "2", "3") },
			DeleteQueueOptions{}, "", 3},
		{"unacked messages are not counted", func(h *harness, s *Session) {
			rbPublish(h, s, "", "q", "1", "2", "3")
			h.get(s, "q", false)
		}, DeleteQueueOptions{}, "", 2},
		{"if-empty, not empty", func(h *harness, s *Session) { rbPublish(h, s, "", "q", "1") },
			DeleteQueueOptions{IfEmpty: true}, "queue 'q' in vhost '/' is not empty", 0},
		{"if-empty, only unacked", func(h *harness, s *Session) {
			rbPublish(h, s, "", "q", "1")
			h.get(s, "q", false)
		}, DeleteQueueOptions{IfEmpty: true}, "", 0},
		{"if-empty, empty", func(*harness, *Session) {}, DeleteQueueOptions{IfEmpty: true}, "", 0},
		{"if-unused, consumed", func(h *harness, s *Session) { rbConsume(h.t, s, "q", ConsumeOptions{}) },
			DeleteQueueOptions{IfUnused: true}, "queue 'q' in vhost '/' in use", 0},
		{"if-unused, unused with messages", func(h *harness, s *Session) { rbPublish(h, s, "", "q", "1") },
			DeleteQueueOptions{IfUnused: true}, "", 1},
		{"if-unused and if-empty", func(h *harness, s *Session) { rbPublish(h, s, "", "q", "1") },
			DeleteQueueOptions{IfUnused: true, IfEmpty: true}, "is not empty", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{})
			rbBind(t, s, "q", "amq.fanout", "", nil)
			tc.setup(h, s)
			n, err := s.DeleteQueue("q", tc.o)
			if tc.err != "" {
				rbErr(t, err, PreconditionFailed, tc.err)
				if rbQueue(h, "q") == nil {
					t.Fatal("queue deleted despite the failed condition")
				}
				return
			}
			must(t, err)
			if n != tc.messages {
				t.Fatalf("delete reported %d messages, want %d", n, tc.messages)
			}
			if rbQueue(h, "q") != nil {
				t.Fatal("queue still exists")
			}
			res, err := s.Publish(&Message{Exchange: "amq.fanout", Body: []byte("x")}, PublishOptions{})
			must(t, err)
			if res.Routed != 0 {
				t.Fatal("its binding survived")
			}
			// Settling a delivery of the deleted queue is harmless.
			must(t, s.Ack(0, true))
		})
	}
	t.Run("missing queue", func(t *testing.T) {
		h := newHarness(t)
		n, err := h.session("").DeleteQueue("nope", DeleteQueueOptions{IfEmpty: true, IfUnused: true})
		if err != nil || n != 0 {
			t.Fatalf("delete of a missing queue: %d, %v; RabbitMQ succeeds with 0", n, err)
		}
	})
}

func TestLifecyclePurge(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "1", "2", "3", "4")
	d := h.get(s, "q", false)
	n, err := s.Purge("q")
	must(t, err)
	if n != 3 {
		t.Fatalf("purged %d, want 3 (the unacked one stays)", n)
	}
	if info := rbInfo(h, "q"); info.Ready != 0 || info.Unacked != 1 {
		t.Fatalf("info %+v", info)
	}
	// The unacked message survives the purge and can be requeued.
	must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
	rbPublish(h, s, "", "q", "5")
	rbEqual(t, "after purge", h.drain(s, "q"), []string{"1", "5"})
	n, err = s.Purge("q")
	if err != nil || n != 0 {
		t.Fatalf("purge of an empty queue: %d, %v", n, err)
	}
	_, err = s.Purge("missing")
	rbErr(t, err, NotFound, "")
	// A purge frees x-max-length room.
	rbDeclare(t, s, "lim", QueueOptions{Args: Table{ArgMaxLength: int32(1), ArgOverflow: OverflowRejectPublish}})
	rbPublish(h, s, "", "lim", "a")
	_, err = s.Purge("lim")
	must(t, err)
	rbPublish(h, s, "", "lim", "b")
	rbEqual(t, "lim", h.drain(s, "lim"), []string{"b"})
}

// Deleting a consumed queue cancels its consumers: the sink is told, and the
// consumer's tag is free again.
func TestLifecycleCancelNotification(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	other := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "1")
	_, k1 := rbConsume(t, s, "q", ConsumeOptions{Tag: "c1"})
	_, k2 := rbConsume(t, other, "q", ConsumeOptions{Tag: "c2"})
	rbExpect(t, k1, "1")
	n, err := other.DeleteQueue("q", DeleteQueueOptions{})
	must(t, err)
	if n != 0 {
		t.Fatalf("deleted %d ready messages, want 0", n)
	}
	for i, k := range []*sink{k1, k2} {
		k.mu.Lock()
		cerr := k.cancelled
		k.mu.Unlock()
		if cerr == nil {
			t.Fatalf("consumer %d not told of the deletion", i+1)
		}
		rbErr(t, cerr, NotFound, "queue 'q' in vhost '/'")
	}
	rbErr(t, s.Cancel("c1"), NotFound, "")
	// The tag can be reused on a new queue; the old delivery's ack is harmless.
	rbDeclare(t, s, "q2", QueueOptions{})
	rbConsume(t, s, "q2", ConsumeOptions{Tag: "c1"})
	must(t, s.Ack(k1.deliveries()[0].Tag, false))
	// A consumer that cancelled itself is not notified.
	rbDeclare(t, s, "q3", QueueOptions{})
	_, k3 := rbConsume(t, s, "q3", ConsumeOptions{Tag: "c3"})
	must(t, s.Cancel("c3"))
	_, err = s.DeleteQueue("q3", DeleteQueueOptions{})
	must(t, err)
	k3.mu.Lock()
	defer k3.mu.Unlock()
	if k3.cancelled != nil {
		t.Fatal("a cancelled consumer was notified")
	}
}
