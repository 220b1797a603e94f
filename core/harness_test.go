package core

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Test harness shared by core's tests.

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	b     *Broker
	clock *FakeClock
	st    store.Store
}

// newHarness starts a broker on a memory store with a fake clock, vhost "/"
// and user "guest" with full permissions on it.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessStore(t, store.NewMemory(), Config{})
}

func newHarnessStore(t *testing.T, st store.Store, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, clock: NewFakeClock(epoch), st: st}
	cfg.Store = st
	if cfg.Clock == nil {
		cfg.Clock = h.clock
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	must(t, b.AddVHost("/"))
	if _, ok := b.users.User("guest"); !ok {
		must(t, b.PutUser("guest", "guest", []string{"administrator"}))
		must(t, b.SetPermissions("guest", "/", ".*", ".*", ".*"))
	}
	t.Cleanup(func() { _ = b.Close() })
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// session opens a connection as user (guest when "") and a session on it.
func (h *harness) session(user string) *Session {
	h.t.Helper()
	if user == "" {
		user = "guest"
	}
	c, err := h.b.Connect(user, "/", ConnectOptions{Name: h.t.Name()})
	must(h.t, err)
	s, err := c.OpenSession()
	must(h.t, err)
	h.t.Cleanup(c.Close)
	return s
}

// publish publishes body to exchange x with key rk and waits for its confirm.
func (h *harness) publish(s *Session, x, rk string, body string, props Properties) error {
	h.t.Helper()
	ch := make(chan error, 1)
	_, err := s.Publish(&Message{Exchange: x, RoutingKey: rk, Properties: props, Body: []byte(body)},
		PublishOptions{Confirm: func(err error) { ch <- err }})
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("no confirm within 10s")
		return nil
	}
}

// get takes one message with a Get (no wait), or returns nil.
func (h *harness) get(s *Session, q string, noAck bool) *Delivery {
	h.t.Helper()
	ds, err := s.Get(context.Background(), q, GetOptions{Max: 1, NoAck: noAck})
	must(h.t, err)
	if len(ds) == 0 {
		return nil
	}
	return ds[0]
}

// drain returns the bodies of every ready message of q, acking each.
func (h *harness) drain(s *Session, q string) []string {
	h.t.Helper()
	var out []string
	for {
		d := h.get(s, q, false)
		if d == nil {
			return out
		}
		out = append(out, string(d.Message.Body))
		must(h.t, s.Ack(d.Tag, false))
	}
}

// sink records deliveries; refuse makes TryDeliver return false.
type sink struct {
	mu        sync.Mutex
	ds        []*Delivery
	refuse    bool
	cancelled error
	notify    chan struct{}
}

func newSink() *sink { return &sink{notify: make(chan struct{}, 1)} }

func (k *sink) TryDeliver(d *Delivery) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.refuse {
		return false
	}
	dd := *d
	k.ds = append(k.ds, &dd)
	select {
	case k.notify <- struct{}{}:
	default:
	}
	return true
}

func (k *sink) Cancelled(err error) {
	k.mu.Lock()
	k.cancelled = err
	k.mu.Unlock()
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

func (k *sink) deliveries() []*Delivery {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*Delivery(nil), k.ds...)
}

func (k *sink) bodies() []string {
	var out []string
	for _, d := range k.deliveries() {
		out = append(out, string(d.Message.Body))
	}
	return out
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
