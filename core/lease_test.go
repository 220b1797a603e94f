package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Leases (SQS visibility timeouts), receive counts, delivery limits and
// long-polling Get. Time is the harness's fake clock except where a test says
// otherwise: a Get's Wait runs on real time.

// declareQ declares queue name on s and returns it.
func declareQ(t *testing.T, s *Session, name string, o QueueOptions) *Queue {
	t.Helper()
	if _, err := s.DeclareQueue(name, o); err != nil {
		t.Fatalf("declare queue %q: %v", name, err)
	}
	q := s.Connection().VHost().Queue(name)
	if q == nil {
		t.Fatalf("queue %q missing after declare", name)
	}
	return q
}

// getWith runs one Get and fails the test on error.
func getWith(t *testing.T, s *Session, queue string, o GetOptions) []*Delivery {
	t.Helper()
	ds, err := s.Get(context.Background(), queue, o)
	if err != nil {
		t.Fatalf("get %q: %v", queue, err)
	}
	return ds
}

// getOne takes exactly one message with a Get and fails the test otherwise.
func getOne(t *testing.T, s *Session, queue string, o GetOptions) *Delivery {
	t.Helper()
	o.Max = 1
	ds := getWith(t, s, queue, o)
	if len(ds) != 1 {
		t.Fatalf("get %q: %d messages, want 1", queue, len(ds))
	}
	return ds[0]
}

// getNone fails the test if a Get returns a message.
func getNone(t *testing.T, s *Session, queue string) {
	t.Helper()
	if ds := getWith(t, s, queue, GetOptions{Max: 10}); len(ds) > 0 {
		t.Fatalf("get %q: got %q, want nothing", queue, bodiesOf(ds))
	}
}

// sendConfirmed publishes m on s, waits for its confirm and fails the test
// unless the confirm reports success.
func sendConfirmed(t *testing.T, s *Session, m *Message) PublishResult {
	t.Helper()
	ch := make(chan error, 1)
	res, err := s.Publish(m, PublishOptions{Confirm: func(err error) { ch <- err }})
	if err != nil {
		t.Fatalf("publish %q: %v", m.Body, err)
	}
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("publish %q: confirm: %v", m.Body, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("publish %q: no confirm within 10s", m.Body)
	}
	return res
}

// wantCode fails the test unless err is a core error with code c.
func wantCode(t *testing.T, err error, c Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", c)
	}
	if got := CodeOf(err); got != c {
		t.Fatalf("err = %v (code %v), want code %v", err, got, c)
	}
}

func bodiesOf(ds []*Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Message.Body)
	}
	return out
}

// wantInfo checks a queue's ready, delayed and unacked counters.
func wantInfo(t *testing.T, q *Queue, ready, delayed, unacked int) {
	t.Helper()
	i := q.Info()
	if i.Ready != ready || i.Delayed != delayed || i.Unacked != unacked {
		t.Fatalf("queue %q: ready/delayed/unacked = %d/%d/%d, want %d/%d/%d",
			q.name, i.Ready, i.Delayed, i.Unacked, ready, delayed, unacked)
	}
}

func wantDelivery(t *testing.T, d *Delivery, body string, count uint32, redelivered bool) {
	t.Helper()
	if string(d.Message.Body) != body || d.Count != count || d.Redelivered != redelivered {
		t.Fatalf("delivery = %q count %d redelivered %v; want %q count %d redelivered %v",
			d.Message.Body, d.Count, d.Redelivered, body, count, redelivered)
	}
}

func TestLeaseExpiryRequeues(t *testing.T) {
	const vt = 30 * time.Second
	tests := []struct {
		name  string
		args  Table
		lease time.Duration
	}{
		{"Get lease", nil, vt},
		{"x-visibility-timeout default", Table{ArgVisibility: int32(vt / time.Millisecond)}, 0},
		{"Get lease overrides the queue default", Table{ArgVisibility: int64(time.Hour / time.Millisecond)}, vt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s, other := h.session(""), h.session("")
			q := declareQ(t, s, "q", QueueOptions{Args: tt.args})
			must(t, h.publish(s, "", "q", "m", Properties{}))

			first := getOne(t, s, "q", GetOptions{Lease: tt.lease})
			wantDelivery(t, first, "m", 1, false)
			wantInfo(t, q, 0, 0, 1)

			h.clock.Advance(vt - time.Millisecond)
			getNone(t, other, "q")
			wantInfo(t, q, 0, 0, 1)

			h.clock.Advance(time.Millisecond)
			wantInfo(t, q, 1, 0, 0)
			if n := s.Unacked(); n != 0 {
				t.Fatalf("session still holds %d leases after expiry", n)
			}
			second := getOne(t, other, "q", GetOptions{Lease: tt.lease})
			wantDelivery(t, second, "m", 2, true)

			// The expired tag is gone: acking it is AMQP's "unknown delivery
			// tag" and loses nothing.
			wantCode(t, s.Ack(first.Tag, false), PreconditionFailed)
			wantInfo(t, q, 0, 0, 1)
			must(t, other.Ack(second.Tag, false))
			wantInfo(t, q, 0, 0, 0)
		})
	}
}

func TestLeaseAckAfterExpiryLosesNothing(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	for i := range 3 {
		must(t, h.publish(s, "", "q", fmt.Sprint("m", i), Properties{}))
	}
	ds := getWith(t, s, "q", GetOptions{Max: 3, Lease: time.Second})
	h.clock.Advance(time.Second)
	wantInfo(t, q, 3, 0, 0)
	for _, d := range ds {
		wantCode(t, s.Ack(d.Tag, false), PreconditionFailed)
	}
	wantCode(t, s.Ack(ds[2].Tag, true), PreconditionFailed)
	wantCode(t, s.Nack(ds[0].Tag, NackOptions{}), PreconditionFailed)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"m0", "m1", "m2"}) {
		t.Fatalf("after stale acks the queue holds %q", got)
	}
}

func TestLeaseTouch(t *testing.T) {
	const lease = 10 * time.Second
	tests := []struct {
		name      string
		touchAt   time.Duration // after the Get
		touch     time.Duration
		visibleAt time.Duration // after the Get
	}{
		{"extend past the old deadline", 5 * time.Second, 20 * time.Second, 25 * time.Second},
		{"shorten, counted from the call", 5 * time.Second, time.Second, 6 * time.Second},
		{"at once, no wait", 0, 30 * time.Second, 30 * time.Second},
		{"zero makes it visible at once", 5 * time.Second, 0, 5 * time.Second},
		{"negative is zero", 5 * time.Second, -time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s, other := h.session(""), h.session("")
			q := declareQ(t, s, "q", QueueOptions{})
			must(t, h.publish(s, "", "q", "m", Properties{}))
			d := getOne(t, s, "q", GetOptions{Lease: lease})
			h.clock.Advance(tt.touchAt)
			must(t, s.Touch(d.Tag, tt.touch))
			if wait := tt.visibleAt - tt.touchAt; wait > 0 {
				h.clock.Advance(wait - time.Millisecond)
				getNone(t, other, "q")
				wantInfo(t, q, 0, 0, 1)
				h.clock.Advance(time.Millisecond)
			}
			wantInfo(t, q, 1, 0, 0)
			wantCode(t, s.Ack(d.Tag, false), PreconditionFailed)
			wantDelivery(t, getOne(t, other, "q", GetOptions{}), "m", 2, true)
		})
	}
}

// TestLeaseTouchRepeated extends a lease several times (a worker heartbeat).
func TestLeaseTouchRepeated(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	must(t, h.publish(s, "", "q", "m", Properties{}))
	d := getOne(t, s, "q", GetOptions{Lease: 10 * time.Second})
	for range 10 {
		h.clock.Advance(9 * time.Second)
		must(t, s.Touch(d.Tag, 10*time.Second))
	}
	wantInfo(t, q, 0, 0, 1)
	must(t, s.Ack(d.Tag, false))
	h.clock.Advance(time.Minute)
	wantInfo(t, q, 0, 0, 0)
}

// TestLeaseTouchConsumerDelivery gives a deadline to a consumer's delivery,
// which had none.
func TestLeaseTouchConsumerDelivery(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	k := newSink()
	_, err := s.Consume("q", ConsumeOptions{}, k)
	must(t, err)
	must(t, h.publish(s, "", "q", "m", Properties{}))
	waitFor(t, "first delivery", func() bool { return len(k.deliveries()) == 1 })
	first := k.deliveries()[0]
	h.clock.Advance(time.Hour)
	if n := len(k.deliveries()); n != 1 {
		t.Fatalf("a delivery without a deadline was redelivered (%d deliveries)", n)
	}
	must(t, s.Touch(first.Tag, 5*time.Second))
	h.clock.Advance(5 * time.Second)
	waitFor(t, "redelivery after the touched deadline", func() bool { return len(k.deliveries()) == 2 })
	second := k.deliveries()[1]
	wantDelivery(t, second, "m", 2, true)
	wantCode(t, s.Ack(first.Tag, false), PreconditionFailed)
	must(t, s.Ack(second.Tag, false))
	wantInfo(t, q, 0, 0, 0)
}

func TestLeaseTouchUnknownTag(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{})
	for i := range 3 {
		must(t, h.publish(s, "", "q", fmt.Sprint("m", i), Properties{}))
	}
	wantCode(t, s.Touch(99, time.Second), NotFound)

	acked := getOne(t, s, "q", GetOptions{Lease: time.Minute})
	must(t, s.Ack(acked.Tag, false))
	wantCode(t, s.Touch(acked.Tag, time.Second), NotFound)

	expired := getOne(t, s, "q", GetOptions{Lease: time.Second})
	h.clock.Advance(time.Second)
	wantCode(t, s.Touch(expired.Tag, time.Minute), NotFound)

	noAck := getOne(t, s, "q", GetOptions{NoAck: true})
	wantCode(t, s.Touch(noAck.Tag, time.Minute), NotFound)
}

// failure is one way a delivery can end without an ack.
type failure struct {
	name string
	fail func(h *harness, s *Session, d *Delivery, lease time.Duration)
}

var failures = []failure{
	{"lease expiry", func(h *harness, _ *Session, _ *Delivery, lease time.Duration) { h.clock.Advance(lease) }},
	{"nack requeue", func(h *harness, s *Session, d *Delivery, _ time.Duration) {
		must(h.t, s.Nack(d.Tag, NackOptions{Requeue: true}))
	}},
	{"touch zero", func(h *harness, s *Session, d *Delivery, _ time.Duration) { must(h.t, s.Touch(d.Tag, 0)) }},
	{"session close", func(_ *harness, s *Session, _ *Delivery, _ time.Duration) { s.Close() }},
	{"recover", func(_ *harness, s *Session, _ *Delivery, _ time.Duration) { s.Recover() }},
}

func TestLeaseReceiveCount(t *testing.T) {
	const lease = 30 * time.Second
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t)
			admin := h.session("")
			q := declareQ(t, admin, "q", QueueOptions{})
			must(t, h.publish(admin, "", "q", "m", Properties{}))
			for i := uint32(1); i <= 5; i++ {
				s := h.session("")
				d := getOne(t, s, "q", GetOptions{Lease: lease})
				wantDelivery(t, d, "m", i, i > 1)
				f.fail(h, s, d, lease)
				wantInfo(t, q, 1, 0, 0)
			}
		})
	}
}

// TestLeaseDeliveryLimit pins core's rule (settleLocked): with
// x-delivery-limit N a message is delivered at most N+1 times; when the
// (N+1)th delivery fails it is dead-lettered with reason delivery_limit, or
// dropped without a dead-letter exchange. An SQS front-end maps
// maxReceiveCount M to x-delivery-limit M-1.
func TestLeaseDeliveryLimit(t *testing.T) {
	const lease = 10 * time.Second
	for _, limit := range []int{0, 1, 3} {
		for _, f := range failures[:2] {
			for _, dlx := range []bool{true, false} {
				t.Run(fmt.Sprintf("limit %d/%s/dlx %v", limit, f.name, dlx), func(t *testing.T) {
					h := newHarness(t)
					s := h.session("")
					args := Table{ArgDeliveryLimit: int32(limit)}
					if dlx {
						args[ArgDLX] = ""
						args[ArgDLRK] = "dlq"
					}
					q := declareQ(t, s, "q", QueueOptions{Args: args})
					dlq := declareQ(t, s, "dlq", QueueOptions{})
					must(t, h.publish(s, "", "q", "m", Properties{MessageID: "id-1"}))
					for i := 1; i <= limit+1; i++ {
						wantInfo(t, q, 1, 0, 0)
						d := getOne(t, s, "q", GetOptions{Lease: lease})
						wantDelivery(t, d, "m", uint32(i), i > 1)
						f.fail(h, s, d, lease)
					}
					wantInfo(t, q, 0, 0, 0)
					if !dlx {
						wantInfo(t, dlq, 0, 0, 0)
						return
					}
					wantInfo(t, dlq, 1, 0, 0)
					d := getOne(t, s, "dlq", GetOptions{})
					if string(d.Message.Body) != "m" || d.Message.Properties.MessageID != "id-1" {
						t.Fatalf("dead-lettered %q id %q", d.Message.Body, d.Message.Properties.MessageID)
					}
					hdr := d.Message.Properties.Headers
					deaths, _ := hdr["x-death"].([]any)
					if len(deaths) != 1 {
						t.Fatalf("x-death = %v", hdr["x-death"])
					}
					death := deaths[0].(Table)
					if death["reason"] != "delivery_limit" || death["queue"] != "q" || death["count"] != int64(1) {
						t.Fatalf("x-death[0] = %v", death)
					}
					if hdr["x-first-death-reason"] != "delivery_limit" {
						t.Fatalf("x-first-death-reason = %v", hdr["x-first-death-reason"])
					}
				})
			}
		}
	}
}

// TestLeaseOwnerClosedBeforeDeadline: closing the session requeues the
// message once; the deadline passing later must not requeue it again.
func TestLeaseOwnerClosedBeforeDeadline(t *testing.T) {
	h := newHarness(t)
	s, other := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	must(t, h.publish(s, "", "q", "m", Properties{}))
	getOne(t, s, "q", GetOptions{Lease: 10 * time.Second})
	s.Close()
	wantInfo(t, q, 1, 0, 0)
	h.clock.Advance(10 * time.Second)
	wantInfo(t, q, 1, 0, 0)
	d := getOne(t, other, "q", GetOptions{})
	wantDelivery(t, d, "m", 2, true)
	must(t, other.Ack(d.Tag, false))
	h.clock.Advance(time.Minute)
	wantInfo(t, q, 0, 0, 0)
	getNone(t, other, "q")
}

// TestLeaseAckRacesExpiry forces the interleaving of an Ack that has taken
// its tag from the session when the lease expires, before it reaches the
// queue. The message must end up either acked or requeued, never both, and
// the queue's counters must stay consistent.
func TestLeaseAckRacesExpiry(t *testing.T) {
	for _, o := range []struct {
		name string
		o    outcome
	}{{"ack", outcomeAck}, {"requeue", outcomeRequeue}, {"reject", outcomeReject}} {
		t.Run(o.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			q := declareQ(t, s, "q", QueueOptions{})
			must(t, h.publish(s, "", "q", "m", Properties{}))
			d := getOne(t, s, "q", GetOptions{Lease: time.Second})

			// Session.settleTags, first half.
			s.mu.Lock()
			ls, err := s.takeLocked(d.Tag, false)
			s.mu.Unlock()
			must(t, err)
			h.clock.Advance(time.Second) // the lease expires: requeued
			settleByQueue(ls, o.o)       // the settle arrives late

			wantInfo(t, q, 1, 0, 0)
			again := getOne(t, s, "q", GetOptions{Lease: time.Second})
			wantDelivery(t, again, "m", 2, true)
			must(t, s.Ack(again.Tag, false))
			h.clock.Advance(time.Minute)
			wantInfo(t, q, 0, 0, 0)
			getNone(t, s, "q")
		})
	}
}

// TestLeaseTouchRacesExpiry: a Touch that found its lease when the lease
// expires before the Touch reaches the queue must not bring the settled lease
// back to life (a second expiry would requeue the message twice).
func TestLeaseTouchRacesExpiry(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	must(t, h.publish(s, "", "q", "m", Properties{}))
	d := getOne(t, s, "q", GetOptions{Lease: time.Second})

	s.mu.Lock()
	l := s.unacked[d.Tag] // Session.Touch, first half
	s.mu.Unlock()
	h.clock.Advance(time.Second)
	l.q.touch(l, time.Minute)
	wantInfo(t, q, 1, 0, 0)

	again := getOne(t, s, "q", GetOptions{Lease: time.Hour})
	h.clock.Advance(time.Minute) // the stale deadline
	wantInfo(t, q, 0, 0, 1)
	must(t, s.Ack(again.Tag, false))
	wantInfo(t, q, 0, 0, 0)
	getNone(t, s, "q")
}

// TestLeaseSettleRacesExpiryStress runs acks, touches and nacks against
// expiring leases from several goroutines; run with -race.
func TestLeaseSettleRacesExpiryStress(t *testing.T) {
	h := newHarness(t)
	admin := h.session("")
	q := declareQ(t, admin, "q", QueueOptions{})
	const n = 200
	for i := range n {
		must(t, h.publish(admin, "", "q", fmt.Sprint(i), Properties{}))
	}
	workers := make([]*Session, 4)
	for i := range workers {
		workers[i] = h.session("")
	}
	done := make(chan struct{})
	errs := make(chan error, len(workers))
	for i, s := range workers {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				ds, err := s.Get(context.Background(), "q", GetOptions{Max: 3, Lease: time.Millisecond})
				if err != nil {
					errs <- err
					return
				}
				for j, d := range ds {
					switch (i + j) % 3 {
					case 0:
						_ = s.Ack(d.Tag, false) // may have expired: that is fine
					case 1:
						_ = s.Touch(d.Tag, time.Millisecond)
					default:
						_ = s.Nack(d.Tag, NackOptions{Requeue: true})
					}
				}
			}
		}()
	}
	for range 2000 {
		h.clock.Advance(time.Millisecond)
	}
	close(done)
	for range workers {
		must(t, <-errs)
	}
	for _, s := range workers {
		s.Close()
	}
	h.clock.Advance(time.Second)
	i := q.Info()
	if i.Unacked != 0 {
		t.Fatalf("unacked = %d after every lease ended", i.Unacked)
	}
	left := h.drain(admin, "q")
	seen := map[string]bool{}
	for _, b := range left {
		if seen[b] {
			t.Fatalf("message %s is in the queue twice", b)
		}
		seen[b] = true
	}
	wantInfo(t, q, 0, 0, 0)
}

// Long-polling Get.

// waiters is the number of consumers, long-poll waiters included, of q.
func waiters(q *Queue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.consumers)
}

type getResult struct {
	ds   []*Delivery
	err  error
	took time.Duration
}

// getAsync starts a Get in a goroutine.
func getAsync(ctx context.Context, s *Session, queue string, o GetOptions) <-chan getResult {
	ch := make(chan getResult, 1)
	start := time.Now()
	go func() {
		ds, err := s.Get(ctx, queue, o)
		ch <- getResult{ds, err, time.Since(start)}
	}()
	return ch
}

func await(t *testing.T, ch <-chan getResult) getResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Get did not return within 10s")
		return getResult{}
	}
}

// TestGetWaitWakesOnPublish uses real time: the Get must return as soon as
// another session publishes, well before its Wait.
func TestGetWaitWakesOnPublish(t *testing.T) {
	h := newHarness(t)
	s, p := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	ch := getAsync(context.Background(), s, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	must(t, h.publish(p, "", "q", "m", Properties{}))
	r := await(t, ch)
	must(t, r.err)
	if got := bodiesOf(r.ds); !slices.Equal(got, []string{"m"}) {
		t.Fatalf("Get returned %q", got)
	}
	if r.took > 2*time.Second {
		t.Fatalf("Get took %v: it did not wake on publish", r.took)
	}
	if n := waiters(q); n != 0 {
		t.Fatalf("%d waiters left after Get returned", n)
	}
	must(t, s.Ack(r.ds[0].Tag, false))
	wantInfo(t, q, 0, 0, 0)
}

func TestGetWaitTimesOut(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	const wait = 50 * time.Millisecond
	r := await(t, getAsync(context.Background(), s, "q", GetOptions{Max: 10, Wait: wait}))
	must(t, r.err)
	if len(r.ds) != 0 {
		t.Fatalf("Get returned %q from an empty queue", bodiesOf(r.ds))
	}
	if r.took < wait {
		t.Fatalf("Get returned after %v, before its Wait of %v", r.took, wait)
	}
	if n := waiters(q); n != 0 {
		t.Fatalf("%d waiters left after Get timed out", n)
	}
}

func TestGetWaitContextCancelled(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := getAsync(ctx, s, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	cancel()
	r := await(t, ch)
	if r.err != nil && !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Get after cancel: %v", r.err)
	}
	if len(r.ds) != 0 || r.took > 2*time.Second {
		t.Fatalf("Get after cancel returned %q after %v", bodiesOf(r.ds), r.took)
	}
	if n := waiters(q); n != 0 {
		t.Fatalf("%d waiters left after cancel", n)
	}
	// Nothing is waiting any more: a message published now stays ready.
	must(t, h.publish(s, "", "q", "m", Properties{}))
	wantInfo(t, q, 1, 0, 0)
}

// TestGetWaitQueueDeleted: deleting the queue ends a long poll at once.
func TestGetWaitQueueDeleted(t *testing.T) {
	h := newHarness(t)
	s, admin := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	ch := getAsync(context.Background(), s, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	_, err := admin.DeleteQueue("q", DeleteQueueOptions{})
	must(t, err)
	r := await(t, ch)
	if len(r.ds) != 0 || r.took > 2*time.Second {
		t.Fatalf("Get on a deleted queue returned %q after %v (err %v)", bodiesOf(r.ds), r.took, r.err)
	}
}

func TestGetMax(t *testing.T) {
	tests := []struct {
		name      string
		published int
		max       int
		want      int
	}{
		{"Max 0 reads as 1", 5, 0, 1},
		{"fewer than Max", 2, 10, 2},
		{"exactly Max", 3, 3, 3},
		{"more than Max", 5, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			q := declareQ(t, s, "q", QueueOptions{})
			var all []string
			for i := range tt.published {
				all = append(all, fmt.Sprint("m", i))
				must(t, h.publish(s, "", "q", all[i], Properties{}))
			}
			ds := getWith(t, s, "q", GetOptions{Max: tt.max, Wait: 5 * time.Second})
			if got := bodiesOf(ds); !slices.Equal(got, all[:tt.want]) {
				t.Fatalf("Get returned %q, want %q", got, all[:tt.want])
			}
			for i, d := range ds {
				if want := tt.published - i - 1; d.Remaining != want {
					t.Errorf("delivery %d: Remaining = %d, want %d", i, d.Remaining, want)
				}
			}
			wantInfo(t, q, tt.published-tt.want, 0, tt.want)
		})
	}
}

// TestGetWaitMax: a waiting Get takes at most Max of a burst.
func TestGetWaitMax(t *testing.T) {
	h := newHarness(t)
	s, p := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	ch := getAsync(context.Background(), s, "q", GetOptions{Max: 2, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	var all []string
	for i := range 5 {
		all = append(all, fmt.Sprint("m", i))
		must(t, h.publish(p, "", "q", all[i], Properties{}))
	}
	r := await(t, ch)
	must(t, r.err)
	got := bodiesOf(r.ds)
	if len(got) < 1 || len(got) > 2 || !slices.Equal(got, all[:len(got)]) {
		t.Fatalf("Get with Max 2 returned %q", got)
	}
	wantInfo(t, q, 5-len(got), 0, len(got))
	if n := waiters(q); n != 0 {
		t.Fatalf("%d waiters left", n)
	}
}

// TestGetWaitLeavesNoWaiter: once a long poll has returned, with or without a
// message, later messages go to later Gets and consumers.
func TestGetWaitLeavesNoWaiter(t *testing.T) {
	for _, received := range []bool{false, true} {
		t.Run(fmt.Sprintf("received %v", received), func(t *testing.T) {
			h := newHarness(t)
			s, p := h.session(""), h.session("")
			q := declareQ(t, s, "q", QueueOptions{})
			if received {
				ch := getAsync(context.Background(), s, "q", GetOptions{Max: 10, Wait: 5 * time.Second})
				waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
				must(t, h.publish(p, "", "q", "first", Properties{}))
				r := await(t, ch)
				must(t, r.err)
				if len(r.ds) != 1 {
					t.Fatalf("long poll returned %q", bodiesOf(r.ds))
				}
			} else {
				ds := getWith(t, s, "q", GetOptions{Max: 10, Wait: 20 * time.Millisecond})
				if len(ds) != 0 {
					t.Fatalf("Get returned %q from an empty queue", bodiesOf(ds))
				}
			}
			if c := q.Info().Consumers; c != 0 || waiters(q) != 0 {
				t.Fatalf("after the Get: Info().Consumers = %d, waiters = %d", c, waiters(q))
			}
			// A later plain Get sees the next message.
			must(t, h.publish(p, "", "q", "m0", Properties{}))
			if d := getOne(t, p, "q", GetOptions{NoAck: true}); string(d.Message.Body) != "m0" {
				t.Fatalf("later Get got %q", d.Message.Body)
			}
			// A consumer added later gets every later message.
			k := newSink()
			_, err := p.Consume("q", ConsumeOptions{NoAck: true}, k)
			must(t, err)
			if c := q.Info().Consumers; c != 1 {
				t.Fatalf("Info().Consumers = %d with one consumer", c)
			}
			for i := 1; i <= 3; i++ {
				must(t, h.publish(p, "", "q", fmt.Sprint("m", i), Properties{}))
			}
			waitFor(t, "3 deliveries", func() bool { return len(k.deliveries()) == 3 })
			if got := k.bodies(); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
				t.Fatalf("consumer got %q", got)
			}
		})
	}
}

// TestGetWaitLease: a message a long poll receives is leased like any Get's.
func TestGetWaitLease(t *testing.T) {
	h := newHarness(t)
	s, p := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: Table{ArgVisibility: int32(30000)}})
	ch := getAsync(context.Background(), s, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	must(t, h.publish(p, "", "q", "m", Properties{}))
	r := await(t, ch)
	must(t, r.err)
	if len(r.ds) != 1 {
		t.Fatalf("long poll returned %q", bodiesOf(r.ds))
	}
	wantInfo(t, q, 0, 0, 1)
	h.clock.Advance(30 * time.Second)
	wantInfo(t, q, 1, 0, 0)
	wantDelivery(t, getOne(t, p, "q", GetOptions{}), "m", 2, true)
}

// TestLeaseSettledAfterQueueDeleted: leases outliving their queue settle
// without error or effect, and release the message's memory. (Their
// deadlines went with the queue's timer: they end when settled or when the
// session closes.)
func TestLeaseSettledAfterQueueDeleted(t *testing.T) {
	for _, f := range []failure{
		{"ack", func(h *harness, s *Session, d *Delivery, _ time.Duration) { must(h.t, s.Ack(d.Tag, false)) }},
		failures[1], failures[2], failures[3], failures[4],
	} {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t)
			s, admin := h.session(""), h.session("")
			declareQ(t, admin, "q", QueueOptions{})
			must(t, h.publish(admin, "", "q", "message", Properties{}))
			d := getOne(t, s, "q", GetOptions{Lease: time.Second})
			if m := h.b.MemoryInUse(); m != int64(len("message")) {
				t.Fatalf("MemoryInUse = %d before delete", m)
			}
			n, err := admin.DeleteQueue("q", DeleteQueueOptions{})
			must(t, err)
			if n != 0 {
				t.Fatalf("delete reported %d ready messages", n)
			}
			f.fail(h, s, d, time.Second)
			if m := h.b.MemoryInUse(); m != 0 {
				t.Fatalf("MemoryInUse = %d after the last lease of a deleted queue ended", m)
			}
			declareQ(t, admin, "q", QueueOptions{})
			getNone(t, admin, "q")
		})
	}
}

// TestLeaseAckMultiple: acking several leased deliveries at once ends all
// their deadlines.
func TestLeaseAckMultiple(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	for i := range 4 {
		must(t, h.publish(s, "", "q", fmt.Sprint("m", i), Properties{}))
	}
	ds := getWith(t, s, "q", GetOptions{Max: 4, Lease: time.Second})
	must(t, s.Ack(ds[2].Tag, true))
	h.clock.Advance(time.Second)
	wantInfo(t, q, 1, 0, 0)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"m3"}) {
		t.Fatalf("after Ack(multiple) of m2 and m3's expiry: %q", got)
	}
}

// TestLeaseAckEach: AckEach settles each tag it names, and only those,
// across queues; an unknown tag is an error of its own that leaves the
// others settled.
func TestLeaseAckEach(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	q2 := declareQ(t, s, "q2", QueueOptions{})
	for i := range 4 {
		must(t, h.publish(s, "", "q", fmt.Sprint("m", i), Properties{}))
	}
	must(t, h.publish(s, "", "q2", "other", Properties{}))
	ds := getWith(t, s, "q", GetOptions{Max: 4, Lease: time.Second})
	d2 := getOne(t, s, "q2", GetOptions{Lease: time.Second})
	errs := s.AckEach([]uint64{ds[2].Tag, 999, ds[0].Tag, d2.Tag})
	if len(errs) != 4 || errs[0] != nil || errs[2] != nil || errs[3] != nil {
		t.Fatalf("errors %v, want one for the unknown tag only", errs)
	}
	wantCode(t, errs[1], PreconditionFailed)
	if errs := s.AckEach([]uint64{ds[1].Tag}); errs != nil {
		t.Fatalf("errors %v for a held tag", errs)
	}
	h.clock.Advance(time.Second)
	wantInfo(t, q, 1, 0, 0)
	wantInfo(t, q2, 0, 0, 0)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"m3"}) {
		t.Fatalf("after AckEach of m0 m1 m2 and m3's expiry: %q", got)
	}
}

// TestGetWaitConcurrent: two long polls and two messages: each poll gets one.
func TestGetWaitConcurrent(t *testing.T) {
	h := newHarness(t)
	s1, s2, p := h.session(""), h.session(""), h.session("")
	q := declareQ(t, s1, "q", QueueOptions{})
	ch1 := getAsync(context.Background(), s1, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	ch2 := getAsync(context.Background(), s2, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	waitFor(t, "both Gets to wait", func() bool { return waiters(q) == 2 })
	must(t, h.publish(p, "", "q", "m0", Properties{}))
	must(t, h.publish(p, "", "q", "m1", Properties{}))
	r1, r2 := await(t, ch1), await(t, ch2)
	must(t, r1.err)
	must(t, r2.err)
	got := sorted(append(bodiesOf(r1.ds), bodiesOf(r2.ds)...))
	if !slices.Equal(got, []string{"m0", "m1"}) || r1.took > 2*time.Second || r2.took > 2*time.Second {
		t.Fatalf("the polls got %q and %q after %v and %v", bodiesOf(r1.ds), bodiesOf(r2.ds), r1.took, r2.took)
	}
	wantInfo(t, q, 0, 0, 2)
}

// TestGetWaitSessionClosed: closing the session ends its long poll at once,
// and a closed session does not start one.
func TestGetWaitSessionClosed(t *testing.T) {
	h := newHarness(t)
	s, p := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	ch := getAsync(context.Background(), s, "q", GetOptions{Max: 1, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	s.Close()
	r := await(t, ch)
	if len(r.ds) != 0 || r.took > 2*time.Second {
		t.Fatalf("Get on a closed session returned %q after %v (err %v)", bodiesOf(r.ds), r.took, r.err)
	}
	r = await(t, getAsync(context.Background(), s, "q", GetOptions{Max: 1, Wait: 5 * time.Second}))
	if len(r.ds) != 0 || r.took > 2*time.Second {
		t.Fatalf("Get started on a closed session returned %q after %v (err %v)", bodiesOf(r.ds), r.took, r.err)
	}
	if n := waiters(q); n != 0 {
		t.Fatalf("%d waiters left", n)
	}
	must(t, h.publish(p, "", "q", "m", Properties{}))
	wantInfo(t, q, 1, 0, 0)
}

// TestLeaseConsumerExpiry: a consumer's lease (ConsumeOptions.Lease) expires
// like a Get's: the message returns to its place, the consumer's credit is
// freed and the redelivery says so.
func TestLeaseConsumerExpiry(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	k := newSink()
	_, err := s.Consume("q", ConsumeOptions{PrefetchCount: 1, Lease: 5 * time.Second}, k)
	must(t, err)
	must(t, h.publish(s, "", "q", "m0", Properties{}))
	must(t, h.publish(s, "", "q", "m1", Properties{}))
	waitFor(t, "m0", func() bool { return len(k.deliveries()) == 1 })
	wantInfo(t, q, 1, 0, 1)
	h.clock.Advance(5 * time.Second)
	waitFor(t, "m0 again", func() bool { return len(k.deliveries()) == 2 })
	wantDelivery(t, k.deliveries()[1], "m0", 2, true)
	wantCode(t, s.Ack(k.deliveries()[0].Tag, false), PreconditionFailed)
	must(t, s.Ack(k.deliveries()[1].Tag, false))
	waitFor(t, "m1", func() bool { return len(k.deliveries()) == 3 })
	wantDelivery(t, k.deliveries()[2], "m1", 1, false)
}

// TestGetOnClosedSession takes nothing and leaves the message as it was.
func TestGetOnClosedSession(t *testing.T) {
	h := newHarness(t)
	s, other := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: Table{ArgDeliveryLimit: int32(0)}})
	must(t, h.publish(s, "", "q", "m", Properties{}))
	s.Close()
	ds, _ := s.Get(context.Background(), "q", GetOptions{Max: 10, Lease: time.Second})
	if len(ds) != 0 {
		t.Fatalf("Get on a closed session returned %q", bodiesOf(ds))
	}
	h.clock.Advance(time.Second)
	wantInfo(t, q, 1, 0, 0)
	wantDelivery(t, getOne(t, other, "q", GetOptions{}), "m", 1, false)
}

// TestWaitingGetsFillOneAtATime: messages published while several long polls
// wait fill the poll served first up to its Max before the next one gets
// any, so each ReceiveMessage returns a full batch instead of every poller
// returning with one message. The waiters here are registered by hand and
// never wake, so the assignment is what the queue decided.
func TestWaitingGetsFillOneAtATime(t *testing.T) {
	h := newHarness(t)
	s, p := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	var sinks []*getSink
	for i := range 2 {
		w := &getSink{ch: make(chan *Delivery, 3), gone: make(chan struct{})}
		sinks = append(sinks, w)
		c := &Consumer{s: s, q: q, tag: fmt.Sprint("get-", i), sink: w, waiter: true, max: 3}
		must(t, q.addConsumer(c))
	}
	for i := 1; i <= 6; i++ {
		must(t, h.publish(p, "", "q", fmt.Sprint("m", i), Properties{}))
	}
	for i, want := range [][]string{{"m1", "m2", "m3"}, {"m4", "m5", "m6"}} {
		var got []string
		for len(sinks[i].ch) > 0 {
			got = append(got, string((<-sinks[i].ch).Message.Body))
		}
		if !slices.Equal(got, want) {
			t.Errorf("waiting Get %d got %q, want %q", i, got, want)
		}
	}
}
