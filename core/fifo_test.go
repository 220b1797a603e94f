package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// FIFO queues (SQS FIFO semantics): order within a message group, a group
// blocked while one of its messages is in flight, deduplication windows.

var fifoArgs = Table{ArgQueueType: TypeFIFO}

func fifoArgsWith(kv ...any) Table {
	t := fifoArgs.Clone()
	for i := 0; i < len(kv); i += 2 {
		t[kv[i].(string)] = kv[i+1]
	}
	return t
}

// sendGroup publishes body to queue q (through the default exchange) in
// group; the body's first letter is the group when group is "".
func sendGroup(t *testing.T, s *Session, q, body, group, dedup string) PublishResult {
	t.Helper()
	if group == "" {
		group = strings.ToUpper(body[:1])
	}
	return sendConfirmed(t, s, &Message{RoutingKey: q, GroupID: group, DedupID: dedup, Body: []byte(body),
		Properties: Properties{MessageID: "id-" + body}})
}

func TestFIFOOrderWithinGroup(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	for _, b := range []string{"a1", "b1", "a2", "c1", "b2", "a3", "c2", "b3"} {
		sendGroup(t, s, "q", b, "", "")
	}
	// One message at a time, acked at once: every group in order, and the
	// oldest available message first.
	got := h.drain(s, "q")
	want := []string{"a1", "b1", "a2", "c1", "b2", "a3", "c2", "b3"}
	if !slices.Equal(got, want) {
		t.Fatalf("drained %q, want %q", got, want)
	}
}

// TestFIFOGroupBlockedWhileLeased: while a message of a group is in flight,
// a Get from another session sees the other groups' messages or nothing.
// Every way a lease can end unblocks the group; a message that comes back
// comes back first.
func TestFIFOGroupBlockedWhileLeased(t *testing.T) {
	const lease = 30 * time.Second
	tests := []struct {
		name  string
		end   func(h *harness, s *Session, d *Delivery)
		again bool // a1 is delivered again
	}{
		{"ack", func(h *harness, s *Session, d *Delivery) { must(h.t, s.Ack(d.Tag, false)) }, false},
		{"reject", func(h *harness, s *Session, d *Delivery) { must(h.t, s.Nack(d.Tag, NackOptions{})) }, false},
		{"nack requeue", func(h *harness, s *Session, d *Delivery) {
			must(h.t, s.Nack(d.Tag, NackOptions{Requeue: true}))
		}, true},
		{"lease expiry", func(h *harness, _ *Session, _ *Delivery) { h.clock.Advance(lease) }, true},
		{"touch zero", func(h *harness, s *Session, d *Delivery) { must(h.t, s.Touch(d.Tag, 0)) }, true},
		{"session close", func(_ *harness, s *Session, _ *Delivery) { s.Close() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s1, s2, s3 := h.session(""), h.session(""), h.session("")
			q := declareQ(t, s1, "q", QueueOptions{Args: fifoArgs})
			for _, b := range []string{"a1", "b1", "a2", "b2", "a3"} {
				sendGroup(t, s1, "q", b, "", "")
			}
			a1 := getOne(t, s1, "q", GetOptions{Lease: lease})
			wantDelivery(t, a1, "a1", 1, false)
			// Group A is blocked: the next Get gets B's head, not a2.
			b1 := getOne(t, s2, "q", GetOptions{Lease: time.Hour})
			wantDelivery(t, b1, "b1", 1, false)
			getNone(t, s3, "q")
			wantInfo(t, q, 3, 0, 2)

			tt.end(h, s1, a1)
			d := getOne(t, s3, "q", GetOptions{Lease: time.Hour})
			if tt.again {
				wantDelivery(t, d, "a1", 2, true)
			} else {
				wantDelivery(t, d, "a2", 1, false)
			}
			// Group B is still blocked by b1, group A now by d.
			getNone(t, s3, "q")
			must(t, s3.Ack(d.Tag, false))
			must(t, s2.Ack(b1.Tag, false))
			want := []string{"a2", "b2", "a3"}
			if !tt.again {
				want = []string{"b2", "a3"}
			}
			if got := h.drain(s3, "q"); !slices.Equal(got, want) {
				t.Fatalf("then drained %q, want %q", got, want)
			}
		})
	}
}

// TestFIFOGetBatchOfOneGroup: one Get may return several messages of a
// group, in order; the group is then blocked until all of them are settled.
func TestFIFOGetBatchOfOneGroup(t *testing.T) {
	h := newHarness(t)
	s, other := h.session(""), h.session("")
	declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	for _, b := range []string{"a1", "a2", "b1", "a3", "c1", "b2"} {
		sendGroup(t, s, "q", b, "", "")
	}
	ds := getWith(t, s, "q", GetOptions{Max: 10, Lease: time.Minute})
	got := bodiesOf(ds)
	if len(got) != 6 || got[0] != "a1" {
		t.Fatalf("Get Max 10 returned %q, want all 6 starting with a1", got)
	}
	wantGroupOrder(t, got)
	getNone(t, other, "q")

	byBody := map[string]*Delivery{}
	for _, d := range ds {
		byBody[string(d.Message.Body)] = d
	}
	// Requeue a2 and a3 while a1 is still in flight: A stays blocked.
	must(t, s.Nack(byBody["a3"].Tag, NackOptions{Requeue: true}))
	must(t, s.Nack(byBody["a2"].Tag, NackOptions{Requeue: true}))
	getNone(t, other, "q")
	must(t, s.Ack(byBody["a1"].Tag, false))
	again := getWith(t, other, "q", GetOptions{Max: 10})
	if got := bodiesOf(again); !slices.Equal(got, []string{"a2", "a3"}) {
		t.Fatalf("after a1's ack Get returned %q, want [a2 a3]", got)
	}
	for _, d := range again {
		if d.Count != 2 || !d.Redelivered {
			t.Fatalf("%s: count %d redelivered %v", d.Message.Body, d.Count, d.Redelivered)
		}
	}
}

// wantGroupOrder checks that within each group (the first letter) the
// bodies are in increasing order.
func wantGroupOrder(t *testing.T, bodies []string) {
	t.Helper()
	last := map[byte]string{}
	for _, b := range bodies {
		if p, ok := last[b[0]]; ok && p > b {
			t.Fatalf("%q: %s after %s", bodies, b, p)
		}
		last[b[0]] = b
	}
}

// TestFIFOGetMaxStopsMidGroup: the rest of a group a Get could not take stays
// blocked behind the messages it took.
func TestFIFOGetMaxStopsMidGroup(t *testing.T) {
	h := newHarness(t)
	s, other := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	for _, b := range []string{"a1", "a2", "a3", "b1"} {
		sendGroup(t, s, "q", b, "", "")
	}
	ds := getWith(t, s, "q", GetOptions{Max: 2})
	if got := bodiesOf(ds); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("Get Max 2 returned %q", got)
	}
	rest := getWith(t, other, "q", GetOptions{Max: 10})
	if got := bodiesOf(rest); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("other Get returned %q, want [b1]", got)
	}
	wantInfo(t, q, 1, 0, 3)
	must(t, s.Ack(ds[0].Tag, false))
	getNone(t, other, "q") // a2 still in flight
	must(t, s.Ack(ds[1].Tag, false))
	if d := getOne(t, other, "q", GetOptions{}); string(d.Message.Body) != "a3" {
		t.Fatalf("got %q, want a3", d.Message.Body)
	}
}

// TestFIFOConsumer: a push consumer gets one message per group at a time.
func TestFIFOConsumer(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	k := newSink()
	_, err := s.Consume("q", ConsumeOptions{}, k)
	must(t, err)
	for _, b := range []string{"a1", "a2", "b1", "b2", "a3"} {
		sendGroup(t, s, "q", b, "", "")
	}
	waitFor(t, "a1 and b1", func() bool { return len(k.deliveries()) == 2 })
	if got := k.bodies(); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("consumer got %q, want [a1 b1]", got)
	}
	wantInfo(t, q, 3, 0, 2)
	must(t, s.Ack(k.deliveries()[0].Tag, false))
	waitFor(t, "a2", func() bool { return len(k.deliveries()) == 3 })
	must(t, s.Nack(k.deliveries()[2].Tag, NackOptions{Requeue: true}))
	waitFor(t, "a2 again", func() bool { return len(k.deliveries()) == 4 })
	must(t, s.Ack(k.deliveries()[1].Tag, false))
	must(t, s.Ack(k.deliveries()[3].Tag, false))
	waitFor(t, "b2 and a3", func() bool { return len(k.deliveries()) == 6 })
	want := []string{"a1", "b1", "a2", "a2", "b2", "a3"}
	got := k.bodies()
	if !slices.Equal(got[:4], want[:4]) || !slices.Equal(sorted(got[4:]), sorted(want[4:])) {
		t.Fatalf("consumer got %q, want %q", got, want)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestFIFOLongPollRespectsGroups: a waiting Get is not handed a message of a
// blocked group; it wakes for another group's message.
func TestFIFOLongPollRespectsGroups(t *testing.T) {
	h := newHarness(t)
	s, waiter := h.session(""), h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	sendGroup(t, s, "q", "a1", "", "")
	sendGroup(t, s, "q", "a2", "", "")
	getOne(t, s, "q", GetOptions{})
	ch := getAsync(context.Background(), waiter, "q", GetOptions{Max: 10, Wait: 5 * time.Second})
	waitFor(t, "the Get to wait", func() bool { return waiters(q) == 1 })
	sendGroup(t, s, "q", "a3", "", "")
	sendGroup(t, s, "q", "b1", "", "")
	r := await(t, ch)
	must(t, r.err)
	if got := bodiesOf(r.ds); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("long poll returned %q, want [b1]", got)
	}
}

func TestFIFODedup(t *testing.T) {
	type msg struct{ group, dedup, body string }
	tests := []struct {
		name          string
		args          Table
		first, second msg
		between       func(h *harness, s *Session)
		dup           bool
	}{
		{"same id", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"}, nil, true},
		{"other id", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d2", "x"}, nil, false},
		{"same id, other group, queue scope", fifoArgsWith(ArgDedupScope, "queue"),
			msg{"A", "d1", "x"}, msg{"B", "d1", "y"}, nil, true},
		{"same id, other group, default scope", fifoArgs, msg{"A", "d1", "x"}, msg{"B", "d1", "y"}, nil, true},
		{"same id, other group, messageGroup scope", fifoArgsWith(ArgDedupScope, "messageGroup"),
			msg{"A", "d1", "x"}, msg{"B", "d1", "y"}, nil, false},
		{"same id, same group, messageGroup scope", fifoArgsWith(ArgDedupScope, "messageGroup"),
			msg{"A", "d1", "x"}, msg{"A", "d1", "y"}, nil, true},
		{"original acked", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, s *Session) { h.drain(s, "q") }, true},
		{"original purged", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, s *Session) { _, err := s.Purge("q"); must(h.t, err) }, true},
		{"original in flight", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, s *Session) { getOne(h.t, s, "q", GetOptions{}) }, true},
		{"inside the default window", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, _ *Session) { h.clock.Advance(DefaultDedupWindow - time.Millisecond) }, true},
		{"after the default window", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, _ *Session) { h.clock.Advance(DefaultDedupWindow) }, false},
		{"after an acked original's window", fifoArgs, msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, s *Session) { h.drain(s, "q"); h.clock.Advance(DefaultDedupWindow) }, false},
		{"inside a custom window", fifoArgsWith(ArgDedupWindow, int32(1000)), msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, _ *Session) { h.clock.Advance(999 * time.Millisecond) }, true},
		{"after a custom window", fifoArgsWith(ArgDedupWindow, int32(1000)), msg{"A", "d1", "x"}, msg{"A", "d1", "y"},
			func(h *harness, _ *Session) { h.clock.Advance(time.Second) }, false},
		{"content-based, same body", fifoArgsWith(ArgContentDedup, true),
			msg{"A", "", "x"}, msg{"A", "", "x"}, nil, true},
		{"content-based, same body, other group", fifoArgsWith(ArgContentDedup, true),
			msg{"A", "", "x"}, msg{"B", "", "x"}, nil, true},
		{"content-based, same body, other group, messageGroup scope",
			fifoArgsWith(ArgContentDedup, true, ArgDedupScope, "messageGroup"),
			msg{"A", "", "x"}, msg{"B", "", "x"}, nil, false},
		{"content-based, other body", fifoArgsWith(ArgContentDedup, true),
			msg{"A", "", "x"}, msg{"A", "", "y"}, nil, false},
		{"content-based, explicit ids win", fifoArgsWith(ArgContentDedup, true),
			msg{"A", "d1", "x"}, msg{"A", "d2", "x"}, nil, false},
		{"content-based, explicit id equals another's", fifoArgsWith(ArgContentDedup, true),
			msg{"A", "d1", "x"}, msg{"A", "d1", "y"}, nil, true},
		{"no id and no content-based dedup", fifoArgs, msg{"A", "", "x"}, msg{"A", "", "x"}, nil, false},
		{"classic queue ignores dedup ids", nil, msg{"A", "d1", "x"}, msg{"A", "d1", "y"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			q := declareQ(t, s, "q", QueueOptions{Args: tt.args})
			send := func(m msg, id string, returned *bool) PublishResult {
				ch := make(chan error, 1)
				res, err := s.Publish(&Message{RoutingKey: "q", GroupID: m.group, DedupID: m.dedup,
					Body: []byte(m.body), Properties: Properties{MessageID: id}},
					PublishOptions{Mandatory: true, Return: func() { *returned = true },
						Confirm: func(err error) { ch <- err }})
				must(t, err)
				// A duplicate is still confirmed: SQS answers 200 with the
				// original MessageId.
				must(t, <-ch)
				return res
			}
			var returned bool
			first := send(tt.first, "m-1", &returned)
			if first.Routed != 1 || first.DuplicateOf != "" || returned {
				t.Fatalf("first publish: %+v returned %v", first, returned)
			}
			if tt.between != nil {
				tt.between(h, s)
			}
			before := q.Info()
			second := send(tt.second, "m-2", &returned)
			after := q.Info()
			if returned {
				t.Fatal("second publish was returned as unroutable")
			}
			if tt.dup {
				if !second.Duplicate || second.DuplicateOf != "m-1" || second.Routed != 0 || second.Seq != first.Seq {
					t.Fatalf("duplicate: %+v, want DuplicateOf m-1, Routed 0, Seq %d", second, first.Seq)
				}
				if after.Ready != before.Ready {
					t.Fatalf("duplicate was enqueued: ready %d -> %d", before.Ready, after.Ready)
				}
				return
			}
			if second.Duplicate || second.DuplicateOf != "" || second.Routed != 1 || second.Seq <= first.Seq {
				t.Fatalf("not a duplicate: %+v (first seq %d)", second, first.Seq)
			}
			if after.Ready != before.Ready+1 {
				t.Fatalf("ready %d -> %d, want one more", before.Ready, after.Ready)
			}
		})
	}
}

// TestFIFODedupWindowNotExtended: a dropped duplicate does not restart the
// window, which counts from the original.
func TestFIFODedupWindowNotExtended(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	sendGroup(t, s, "q", "a1", "A", "d")
	h.clock.Advance(4 * time.Minute)
	if r := sendGroup(t, s, "q", "a2", "A", "d"); r.DuplicateOf != "id-a1" {
		t.Fatalf("inside the window: %+v", r)
	}
	h.clock.Advance(time.Minute)
	if r := sendGroup(t, s, "q", "a3", "A", "d"); r.DuplicateOf != "" || r.Routed != 1 {
		t.Fatalf("5 minutes after the original: %+v", r)
	}
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"a1", "a3"}) {
		t.Fatalf("queue holds %q", got)
	}
}

// TestFIFODedupManyIDs keeps many ids in the window and lets them expire.
func TestFIFODedupManyIDs(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgsWith(ArgDedupWindow, int32(60000))})
	for i := range 100 {
		sendGroup(t, s, "q", fmt.Sprintf("a%03d", i), "A", fmt.Sprint(i))
		h.clock.Advance(100 * time.Millisecond)
	}
	// At 10s the first id is 10s old, the last 0.1s: all still in the window.
	for i := range 100 {
		if r := sendGroup(t, s, "q", "dup", "A", fmt.Sprint(i)); r.DuplicateOf == "" {
			t.Fatalf("id %d not deduplicated", i)
		}
	}
	// At 65s the ids sent up to 5s (0 to 50) have left the window, the
	// others have not.
	h.clock.Advance(55 * time.Second)
	for i := range 100 {
		r := sendGroup(t, s, "q", fmt.Sprintf("b%03d", i), "B", fmt.Sprint(i))
		if dup := r.DuplicateOf != ""; dup != (i > 50) {
			t.Fatalf("id %d at 65s: duplicate %v", i, dup)
		}
	}
	wantInfo(t, q, 151, 0, 0)
}

// TestFIFOLeaseExpiryKeepsOrder: an expired lease puts the message back at
// the head of its group.
func TestFIFOLeaseExpiryKeepsOrder(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Args: fifoArgsWith(ArgVisibility, int32(30000))})
	for _, b := range []string{"a1", "a2", "a3"} {
		sendGroup(t, s, "q", b, "", "")
	}
	ds := getWith(t, s, "q", GetOptions{Max: 2})
	if got := bodiesOf(ds); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("Get returned %q", got)
	}
	must(t, s.Ack(ds[0].Tag, false))
	h.clock.Advance(30 * time.Second)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"a2", "a3"}) {
		t.Fatalf("after a2's lease expired: %q", got)
	}
}

// TestFIFOGetBatchSkipsExpired: a Get taking a run of one group must not hand
// out a message of that group whose TTL has passed; it expires when it
// reaches the head of its group, as at the head of the queue.
func TestFIFOGetBatchSkipsExpired(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	for _, m := range []struct{ body, ttl string }{{"a1", ""}, {"a2", "1000"}, {"a3", ""}} {
		sendConfirmed(t, s, &Message{RoutingKey: "q", GroupID: "A", Body: []byte(m.body),
			Properties: Properties{Expiration: m.ttl}})
	}
	h.clock.Advance(2 * time.Second)
	ds := getWith(t, s, "q", GetOptions{Max: 10})
	if got := bodiesOf(ds); !slices.Equal(got, []string{"a1", "a3"}) {
		t.Fatalf("Get returned %q, want [a1 a3] (a2 expired)", got)
	}
	wantInfo(t, q, 0, 0, 2)
}

// TestFIFODuplicateWithoutMessageID: a duplicate of a message that had no
// message id is still a duplicate, not an unroutable message.
func TestFIFODuplicateWithoutMessageID(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	q := declareQ(t, s, "q", QueueOptions{Args: fifoArgs})
	var returns int
	var last PublishResult
	for range 2 {
		ch := make(chan error, 1)
		var err error
		last, err = s.Publish(&Message{RoutingKey: "q", GroupID: "A", DedupID: "d", Body: []byte("x")},
			PublishOptions{Mandatory: true, Return: func() { returns++ }, Confirm: func(err error) { ch <- err }})
		must(t, err)
		must(t, <-ch)
	}
	if returns != 0 {
		t.Fatalf("the duplicate was returned as unroutable (%d returns)", returns)
	}
	if !last.Duplicate || last.DuplicateOf != "" || last.Routed != 0 {
		t.Fatalf("second publish: %+v, want a duplicate of a message without id", last)
	}
	wantInfo(t, q, 1, 0, 0)
}

// TestFIFODeliveryLimitUnblocksGroup: a message dead-lettered for its
// delivery limit releases its group to the next message.
func TestFIFODeliveryLimitUnblocksGroup(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Args: fifoArgsWith(ArgDeliveryLimit, int32(1), ArgDLX, "", ArgDLRK, "dlq")})
	declareQ(t, s, "dlq", QueueOptions{})
	sendGroup(t, s, "q", "a1", "", "")
	sendGroup(t, s, "q", "a2", "", "")
	for i := uint32(1); i <= 2; i++ {
		d := getOne(t, s, "q", GetOptions{Lease: time.Second})
		wantDelivery(t, d, "a1", i, i > 1)
		h.clock.Advance(time.Second)
	}
	wantDelivery(t, getOne(t, s, "q", GetOptions{}), "a2", 1, false)
	if got := h.drain(s, "dlq"); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("dlq: %q", got)
	}
}
