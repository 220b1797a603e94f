package core

import (
	"strings"
	"sync"
	"testing"

	"github.com/mqgate/mqgate/core/store"
)

// TestFlowMemoryWatermark: crossing the memory watermark tells every
// connection that asked to block its publishers, and draining the queue below
// it unblocks them (AMQP connection.blocked / unblocked).
func TestFlowMemoryWatermark(t *testing.T) {
	h := newHarnessStore(t, store.NewMemory(), Config{MemoryHighWatermark: 1000})
	var mu sync.Mutex
	var events []bool
	c, err := h.b.Connect("guest", "/", ConnectOptions{Blocked: func(v bool) {
		mu.Lock()
		events = append(events, v)
		mu.Unlock()
	}})
	must(t, err)
	t.Cleanup(c.Close)
	s, err := c.OpenSession()
	must(t, err)
	_, err = s.DeclareQueue("q", QueueOptions{})
	must(t, err)
	body := strings.Repeat("x", 300)
	for i := 0; i < 3; i++ {
		must(t, h.publish(s, "", "q", body, Properties{}))
	}
	if h.b.Blocked() {
		t.Fatalf("blocked at %d bytes, watermark 1000", h.b.MemoryInUse())
	}
	must(t, h.publish(s, "", "q", body, Properties{}))
	if !h.b.Blocked() || h.b.MemoryInUse() != 1200 {
		t.Fatalf("not blocked at %d bytes", h.b.MemoryInUse())
	}
	// A connection opened while blocked learns it at once.
	var late []bool
	c2, err := h.b.Connect("guest", "/", ConnectOptions{Blocked: func(v bool) { late = append(late, v) }})
	must(t, err)
	t.Cleanup(c2.Close)
	if len(late) != 1 || !late[0] {
		t.Fatalf("late connection got %v, want [true]", late)
	}
	if got := h.drain(s, "q"); len(got) != 4 {
		t.Fatalf("drained %d messages", len(got))
	}
	if h.b.Blocked() || h.b.MemoryInUse() != 0 {
		t.Fatalf("still blocked with %d bytes in memory", h.b.MemoryInUse())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || !events[0] || events[1] {
		t.Fatalf("blocked events %v, want [true false]", events)
	}
}

// TestFlowBodiesLeaveMemoryOnceOnDisk: with a tiny body cache, persistent
// messages in a durable queue stop counting against memory once written, and
// are still delivered intact.
func TestFlowBodiesLeaveMemoryOnceOnDisk(t *testing.T) {
	st, err := store.OpenDurable(t.TempDir(), store.DurableOptions{})
	must(t, err)
	t.Cleanup(func() { st.Close() })
	h := newHarnessStore(t, st, Config{BodyCacheBytes: 1})
	s := h.session("")
	_, err = s.DeclareQueue("d", QueueOptions{Durable: true})
	must(t, err)
	_, err = s.DeclareQueue("t", QueueOptions{})
	must(t, err)
	for i := 0; i < 10; i++ {
		must(t, h.publish(s, "", "d", strings.Repeat("p", 100), Properties{DeliveryMode: Persistent}))
	}
	must(t, h.publish(s, "", "t", strings.Repeat("t", 100), Properties{}))
	if got := h.b.MemoryInUse(); got != 100 {
		t.Fatalf("memory in use %d, want 100 (only the transient body)", got)
	}
	got := h.drain(s, "d")
	if len(got) != 10 || got[9] != strings.Repeat("p", 100) {
		t.Fatalf("read back %d bodies: %q", len(got), got)
	}
}
