package core

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// Delayed delivery (SQS DelaySeconds): Message.Delay and x-delivery-delay.

func TestDelay(t *testing.T) {
	tests := []struct {
		name  string
		args  Table
		delay time.Duration // Message.Delay
		want  time.Duration // invisible for this long
	}{
		{"message delay", nil, 10 * time.Second, 10 * time.Second},
		{"queue delay", Table{ArgDeliveryDelay: int32(15000)}, 0, 15 * time.Second},
		{"message delay overrides the queue's", Table{ArgDeliveryDelay: int32(15000)}, 5 * time.Second, 5 * time.Second},
		{"longer message delay overrides the queue's", Table{ArgDeliveryDelay: int32(1000)}, time.Minute, time.Minute},
		{"fifo queue delay", Table{ArgQueueType: TypeFIFO, ArgDeliveryDelay: int64(2000)}, 0, 2 * time.Second},
		{"priority queue", Table{ArgMaxPriority: int32(5)}, 3 * time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			q := declareQ(t, s, "q", QueueOptions{Args: tt.args})
			sendConfirmed(t, s, &Message{RoutingKey: "q", GroupID: "g", Body: []byte("m"), Delay: tt.delay,
				Properties: Properties{Priority: 3}})
			wantInfo(t, q, 0, 1, 0)
			getNone(t, s, "q")
			h.clock.Advance(tt.want - time.Millisecond)
			wantInfo(t, q, 0, 1, 0)
			getNone(t, s, "q")
			h.clock.Advance(time.Millisecond)
			wantInfo(t, q, 1, 0, 0)
			d := getOne(t, s, "q", GetOptions{})
			wantDelivery(t, d, "m", 1, false)
			must(t, s.Ack(d.Tag, false))
			wantInfo(t, q, 0, 0, 0)
		})
	}
}

// TestDelayOrder: messages become visible when their own delay ends; those
// with the same delay keep their publish order.
func TestDelayOrder(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	for _, m := range []struct {
		body  string
		delay time.Duration
	}{{"d20", 20 * time.Second}, {"d10a", 10 * time.Second}, {"now", 0}, {"d10b", 10 * time.Second}} {
		sendConfirmed(t, s, &Message{RoutingKey: "q", Body: []byte(m.body), Delay: m.delay})
	}
	wantInfo(t, q, 1, 3, 0)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"now"}) {
		t.Fatalf("at 0s: %q", got)
	}
	h.clock.Advance(10 * time.Second)
	wantInfo(t, q, 2, 1, 0)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"d10a", "d10b"}) {
		t.Fatalf("at 10s: %q", got)
	}
	h.clock.Advance(10 * time.Second)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"d20"}) {
		t.Fatalf("at 20s: %q", got)
	}
	wantInfo(t, q, 0, 0, 0)
}

// TestDelayToConsumer: a consumer receives a delayed message once it is
// visible, without any Get.
func TestDelayToConsumer(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Args: Table{ArgDeliveryDelay: int32(5000)}})
	k := newSink()
	_, err := s.Consume("q", ConsumeOptions{NoAck: true}, k)
	must(t, err)
	for i := range 3 {
		must(t, h.publish(s, "", "q", fmt.Sprint("m", i), Properties{}))
		h.clock.Advance(time.Second)
	}
	// m0 was published at 0s, m1 at 1s, m2 at 2s; it is now 3s.
	if n := len(k.deliveries()); n != 0 {
		t.Fatalf("%d deliveries before any delay ended", n)
	}
	h.clock.Advance(2 * time.Second)
	waitFor(t, "m0", func() bool { return len(k.deliveries()) == 1 })
	h.clock.Advance(2 * time.Second)
	waitFor(t, "m1 and m2", func() bool { return len(k.deliveries()) == 3 })
	if got := k.bodies(); !slices.Equal(got, []string{"m0", "m1", "m2"}) {
		t.Fatalf("consumer got %q", got)
	}
}

// TestDelayWakesLongPoll: a long-polling Get returns when a delayed message
// becomes visible (the Get's Wait is real time, the delay fake time).
func TestDelayWakesLongPoll(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	sendConfirmed(t, s, &Message{RoutingKey: "q", Body: []byte("m"), Delay: time.Minute})
	ch := getAsync(context.Background(), s, "q", GetOptions{Max: 10, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	h.clock.Advance(time.Minute)
	r := await(t, ch)
	must(t, r.err)
	if got := bodiesOf(r.ds); !slices.Equal(got, []string{"m"}) || r.took > 2*time.Second {
		t.Fatalf("long poll returned %q after %v", got, r.took)
	}
}

// TestDelayOnlyOnce: the delay applies when the message is enqueued, not to
// redeliveries.
func TestDelayOnlyOnce(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: Table{ArgDeliveryDelay: int32(10000)}})
	must(t, h.publish(s, "", "q", "m", Properties{}))
	h.clock.Advance(10 * time.Second)
	d := getOne(t, s, "q", GetOptions{Lease: time.Second})
	h.clock.Advance(time.Second)
	wantInfo(t, q, 1, 0, 0)
	d = getOne(t, s, "q", GetOptions{})
	wantDelivery(t, d, "m", 2, true)
	must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
	wantInfo(t, q, 1, 0, 0)
}

// TestDelayedCounts: Info counts delayed messages apart from ready ones, and
// purging or deleting the queue removes them.
func TestDelayedCounts(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{})
	for i := range 5 {
		sendConfirmed(t, s, &Message{RoutingKey: "q", Body: []byte(fmt.Sprint(i)), Delay: time.Duration(i) * time.Second})
	}
	wantInfo(t, q, 1, 4, 0)
	h.clock.Advance(2 * time.Second)
	wantInfo(t, q, 3, 2, 0)
	n, err := s.Purge("q")
	must(t, err)
	if n != 5 {
		t.Fatalf("purge removed %d, want 5", n)
	}
	wantInfo(t, q, 0, 0, 0)
	h.clock.Advance(time.Minute)
	wantInfo(t, q, 0, 0, 0)
	getNone(t, s, "q")
}

// TestDelayFIFOGroupOrder: with a queue-wide delay a FIFO group keeps its
// order and its blocking.
func TestDelayFIFOGroupOrder(t *testing.T) {
	h := newHarness(t)
	s, other := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgsWith(ArgDeliveryDelay, int32(1000))})
	for _, b := range []string{"a1", "a2", "b1"} {
		sendGroup(t, s, "q", b, "", "")
		h.clock.Advance(100 * time.Millisecond)
	}
	wantInfo(t, q, 0, 3, 0)
	h.clock.Advance(time.Second)
	d := getOne(t, s, "q", GetOptions{})
	wantDelivery(t, d, "a1", 1, false)
	if got := bodiesOf(getWith(t, other, "q", GetOptions{Max: 10})); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("other Get returned %q, want [b1]", got)
	}
	must(t, s.Ack(d.Tag, false))
	wantDelivery(t, getOne(t, s, "q", GetOptions{}), "a2", 1, false)
}

func TestDelayInvalidArg(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	for _, v := range []any{int32(-1), "10", 1.5} {
		_, err := s.DeclareQueue("q", QueueOptions{Args: Table{ArgDeliveryDelay: v}})
		wantCode(t, err, PreconditionFailed)
	}
}
