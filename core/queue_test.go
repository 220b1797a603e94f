package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Queue semantics: arguments, redeclaration, length limits, TTL, requeue
// order, priorities, delivery limits. RabbitMQ's behaviour is the oracle.
//
// The rb* helpers below are shared by queue_test.go, deadletter_test.go,
// exchange_test.go, consumer_test.go and lifecycle_test.go.

func rbDeclare(t *testing.T, s *Session, name string, o QueueOptions) QueueInfo {
	t.Helper()
	info, err := s.DeclareQueue(name, o)
	if err != nil {
		t.Fatalf("declare queue %q: %v", name, err)
	}
	return info
}

func rbExchange(t *testing.T, s *Session, name, kind string, args Table) {
	t.Helper()
	if err := s.DeclareExchange(name, ExchangeOptions{Kind: kind, Args: args}); err != nil {
		t.Fatalf("declare exchange %q: %v", name, err)
	}
}

func rbBind(t *testing.T, s *Session, queue, exchange, key string, args Table) {
	t.Helper()
	if err := s.Bind(queue, exchange, key, args, false); err != nil {
		t.Fatalf("bind %q to %q with %q: %v", queue, exchange, key, err)
	}
}

// rbPublish publishes each body to x with key rk and fails unless the
// confirm reports success.
func rbPublish(h *harness, s *Session, x, rk string, bodies ...string) {
	h.t.Helper()
	for _, b := range bodies {
		if err := h.publish(s, x, rk, b, Properties{}); err != nil {
			h.t.Fatalf("publish %q to %q/%q: %v", b, x, rk, err)
		}
	}
}

// rbErr checks that err is a core *Error with code and, if part is not
// empty, a message containing part.
func rbErr(t *testing.T, err error, code Code, part string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", code)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a core *Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("error %q has code %v, want %v", err, e.Code, code)
	}
	if !errors.Is(err, &Error{Code: code}) {
		t.Fatalf("errors.Is(%q, &Error{Code: %v}) is false", err, code)
	}
	if part != "" && !strings.Contains(e.Msg, part) {
		t.Fatalf("error message %q does not contain %q", e.Msg, part)
	}
}

func rbQueue(h *harness, name string) *Queue { return h.b.VHost("/").Queue(name) }

func rbInfo(h *harness, name string) QueueInfo {
	h.t.Helper()
	q := rbQueue(h, name)
	if q == nil {
		h.t.Fatalf("queue %q does not exist", name)
	}
	return q.Info()
}

func rbConsume(t *testing.T, s *Session, queue string, o ConsumeOptions) (*Consumer, *sink) {
	t.Helper()
	k := newSink()
	c, err := s.Consume(queue, o, k)
	if err != nil {
		t.Fatalf("consume %q: %v", queue, err)
	}
	return c, k
}

func rbBodies(ds []*Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, string(d.Message.Body))
	}
	return out
}

func rbEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	if got == nil {
		got = []string{}
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// rbExpect waits until k has at least len(want) deliveries, then checks that
// their bodies are exactly want.
func rbExpect(t *testing.T, k *sink, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d deliveries", len(want)), func() bool { return len(k.deliveries()) >= len(want) })
	rbEqual(t, "delivered", k.bodies(), want)
}

// rbNums returns the bodies "1" … "n".
func rbNums(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i + 1)
	}
	return out
}

// rbGetN takes n messages with Get (unacked) and returns the deliveries.
func rbGetN(h *harness, s *Session, queue string, n int) []*Delivery {
	h.t.Helper()
	var out []*Delivery
	for i := 0; i < n; i++ {
		d := h.get(s, queue, false)
		if d == nil {
			h.t.Fatalf("get %d of %d from %q: queue empty", i+1, n, queue)
		}
		out = append(out, d)
	}
	return out
}

func TestQueueArgsInvalid(t *testing.T) {
	const prefix = "invalid arg '%s' for queue 'q' in vhost '/'"
	cases := []struct {
		name      string
		args      Table
		durable   bool
		exclusive bool
		code      Code
		msg       string
	}{
		{"ttl string", Table{ArgMessageTTL: "1000"}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMessageTTL) + ": {unacceptable_type,"},
		{"ttl float", Table{ArgMessageTTL: 1.5}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMessageTTL) + ": {unacceptable_type,"},
		{"ttl negative", Table{ArgMessageTTL: int32(-1)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMessageTTL) + ": {value_negative,-1}"},
		{"ttl too large", Table{ArgMessageTTL: int64(1 << 32)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMessageTTL) + ": {value_too_large,"},
		{"expires zero", Table{ArgExpires: int32(0)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgExpires)},
		{"expires negative", Table{ArgExpires: int64(-5)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgExpires) + ": {value_negative,-5}"},
		{"expires bool", Table{ArgExpires: true}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgExpires) + ": {unacceptable_type,"},
		{"max-length string", Table{ArgMaxLength: "10"}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMaxLength) + ": {unacceptable_type,"},
		{"max-length negative", Table{ArgMaxLength: int16(-1)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMaxLength) + ": {value_negative,-1}"},
		{"max-length-bytes negative", Table{ArgMaxLengthBytes: int32(-100)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMaxLengthBytes) + ": {value_negative,-100}"},
		{"overflow unknown", Table{ArgOverflow: "drop-tail"}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgOverflow)},
		{"overflow int", Table{ArgOverflow: int32(1)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgOverflow) + ": {unacceptable_type,"},
		{"dlx int", Table{ArgDLX: int32(1)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgDLX) + ": {unacceptable_type,"},
		{"dlrk without dlx", Table{ArgDLRK: "rk"}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgDLRK)},
		{"max-priority too large", Table{ArgMaxPriority: int32(256)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMaxPriority) + ": {value_too_large,256,255}"},
		{"max-priority negative", Table{ArgMaxPriority: int8(-1)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMaxPriority) + ": {value_negative,-1}"},
		{"max-priority string", Table{ArgMaxPriority: "10"}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgMaxPriority) + ": {unacceptable_type,"},
		{"single-active string", Table{ArgSingleActive: "true"}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgSingleActive) + ": {unacceptable_type,"},
		{"delivery-limit negative", Table{ArgDeliveryLimit: int32(-1)}, false, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgDeliveryLimit) + ": {value_negative,-1}"},
		{"queue-type unknown", Table{ArgQueueType: "bogus"}, true, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgQueueType)},
		{"queue-type int", Table{ArgQueueType: int32(1)}, true, false, PreconditionFailed,
			fmt.Sprintf(prefix, ArgQueueType) + ": {unacceptable_type,"},
		{"stream", Table{ArgQueueType: "stream"}, true, false, NotImplemented, "'stream'"},
		{"quorum non-durable", Table{ArgQueueType: TypeQuorum}, false, false, PreconditionFailed,
			"invalid property 'non-durable' for queue 'q' in vhost '/'"},
		{"quorum exclusive", Table{ArgQueueType: TypeQuorum}, true, true, PreconditionFailed,
			"invalid property 'exclusive' for queue 'q' in vhost '/'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			_, err := s.DeclareQueue("q", QueueOptions{Durable: tc.durable, Exclusive: tc.exclusive, Args: tc.args})
			rbErr(t, err, tc.code, tc.msg)
			if rbQueue(h, "q") != nil {
				t.Fatal("the queue exists after a refused declaration")
			}
		})
	}
}

func TestQueueArgsValid(t *testing.T) {
	cases := []struct {
		name    string
		args    Table
		durable bool
	}{
		{"every argument, int32", Table{ArgMessageTTL: int32(1000), ArgExpires: int32(60000), ArgMaxLength: int32(10),
			ArgMaxLengthBytes: int32(1 << 20), ArgOverflow: OverflowRejectPublishDLX, ArgDLX: "dlx", ArgDLRK: "dead",
			ArgMaxPriority: int32(10), ArgSingleActive: true, ArgDeliveryLimit: int32(5)}, false},
		{"other integer widths", Table{ArgMessageTTL: int8(5), ArgExpires: uint16(1000), ArgMaxLength: uint8(3),
			ArgMaxLengthBytes: int64(1 << 40), ArgMaxPriority: uint8(255), ArgDeliveryLimit: uint32(7)}, false},
		{"zero ttl and limits", Table{ArgMessageTTL: int32(0), ArgMaxLength: int32(0), ArgMaxLengthBytes: int32(0)}, false},
		{"max ttl", Table{ArgMessageTTL: int64(1<<32 - 1)}, false},
		{"dlx as bytes", Table{ArgDLX: []byte("dlx"), ArgDLRK: []byte("rk")}, false},
		{"empty dlx is the default exchange", Table{ArgDLX: ""}, false},
		{"overflow drop-head", Table{ArgOverflow: OverflowDropHead}, false},
		{"overflow reject-publish", Table{ArgOverflow: OverflowRejectPublish}, false},
		{"classic", Table{ArgQueueType: TypeClassic}, false},
		{"quorum durable", Table{ArgQueueType: TypeQuorum}, true},
		{"queue-mode lazy is ignored", Table{ArgQueueMode: "lazy"}, false},
		{"queue-mode of any value is ignored", Table{ArgQueueMode: int32(7)}, false},
		{"unknown arguments are kept", Table{"x-custom": "v"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			info := rbDeclare(t, s, "q", QueueOptions{Durable: tc.durable, Args: tc.args})
			if info.Name != "q" || info.Durable != tc.durable {
				t.Fatalf("info = %+v", info)
			}
			// Redeclaring with the same arguments is a no-op.
			rbDeclare(t, s, "q", QueueOptions{Durable: tc.durable, Args: tc.args})
			rbPublish(h, s, "", "q", "m")
			if got := rbInfo(h, "q").Args; len(got) != len(tc.args) {
				t.Fatalf("args = %v, want %v", got, tc.args)
			}
		})
	}
}

func TestQueueRedeclareEquivalence(t *testing.T) {
	base := QueueOptions{Durable: true, Args: Table{ArgMessageTTL: int32(1000), ArgMaxLength: int64(5),
		ArgDLX: "dlx", ArgQueueMode: "lazy"}}
	with := func(f func(o *QueueOptions)) QueueOptions {
		o := base
		o.Args = base.Args.Clone()
		f(&o)
		return o
	}
	cases := []struct {
		name string
		o    QueueOptions
		code Code // 0 with msg "": success
		msg  string
	}{
		{"identical", base, 0, ""},
		{"other integer widths and bytes", with(func(o *QueueOptions) {
			o.Args[ArgMessageTTL] = int64(1000)
			o.Args[ArgMaxLength] = int16(5)
			o.Args[ArgDLX] = []byte("dlx")
		}), 0, ""},
		{"x-queue-mode differs", with(func(o *QueueOptions) { o.Args[ArgQueueMode] = "default" }), 0, ""},
		{"x-queue-mode absent", with(func(o *QueueOptions) { delete(o.Args, ArgQueueMode) }), 0, ""},
		{"ttl differs", with(func(o *QueueOptions) { o.Args[ArgMessageTTL] = int32(2000) }), PreconditionFailed,
			"inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/'"},
		{"ttl missing", with(func(o *QueueOptions) { delete(o.Args, ArgMessageTTL) }), PreconditionFailed,
			"inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received none but current is the value '1000'"},
		{"max-length added", with(func(o *QueueOptions) { o.Args[ArgMaxLengthBytes] = int32(10) }), PreconditionFailed,
			"inequivalent arg 'x-max-length-bytes'"},
		{"dlx differs", with(func(o *QueueOptions) { o.Args[ArgDLX] = "other" }), PreconditionFailed,
			"inequivalent arg 'x-dead-letter-exchange'"},
		{"ttl as string", with(func(o *QueueOptions) { o.Args[ArgMessageTTL] = "1000" }), PreconditionFailed, ""},
		{"queue type added", with(func(o *QueueOptions) { o.Args[ArgQueueType] = TypeQuorum }), PreconditionFailed,
			"inequivalent arg 'x-queue-type'"},
		{"priority added", with(func(o *QueueOptions) { o.Args[ArgMaxPriority] = int32(5) }), PreconditionFailed,
			"inequivalent arg 'x-max-priority'"},
		{"durable differs", with(func(o *QueueOptions) { o.Durable = false }), PreconditionFailed,
			"inequivalent arg 'durable' for queue 'q' in vhost '/'"},
		{"auto-delete differs", with(func(o *QueueOptions) { o.AutoDelete = true }), PreconditionFailed,
			"inequivalent arg 'auto_delete' for queue 'q' in vhost '/'"},
		{"exclusive differs", with(func(o *QueueOptions) { o.Exclusive = true }), ResourceLocked,
			"cannot obtain exclusive access to locked queue 'q'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", base)
			rbPublish(h, s, "", "q", "kept")
			_, err := s.DeclareQueue("q", tc.o)
			if tc.code == 0 && tc.msg == "" {
				must(t, err)
			} else {
				rbErr(t, err, tc.code, tc.msg)
			}
			// A refused redeclaration changes nothing.
			info := rbInfo(h, "q")
			if info.Ready != 1 || !info.Durable {
				t.Fatalf("queue after redeclaration: %+v", info)
			}
		})
	}
}

func TestQueueMaxLength(t *testing.T) {
	cases := []struct {
		name     string
		args     Table
		bodies   []string
		rejected []string // bodies whose confirm must fail with ResourceLimit
		left     []string
	}{
		{"drop-head by count", Table{ArgMaxLength: int32(3)},
			[]string{"1", "2", "3", "4", "5"}, nil, []string{"3", "4", "5"}},
		{"drop-head is the default overflow", Table{ArgMaxLength: int32(2), ArgOverflow: OverflowDropHead},
			[]string{"1", "2", "3"}, nil, []string{"2", "3"}},
		{"drop-head by bytes", Table{ArgMaxLengthBytes: int32(10)},
			[]string{"aaaa", "bbbb", "cccc"}, nil, []string{"bbbb", "cccc"}},
		{"drop-head by bytes drops several", Table{ArgMaxLengthBytes: int32(10)},
			[]string{"aa", "bb", "cc", "dddddddddd"}, nil, []string{"dddddddddd"}},
		{"max-length 0 keeps nothing", Table{ArgMaxLength: int32(0)},
			[]string{"1", "2"}, nil, nil},
		{"reject-publish by count", Table{ArgMaxLength: int32(2), ArgOverflow: OverflowRejectPublish},
			[]string{"1", "2", "3", "4"}, []string{"3", "4"}, []string{"1", "2"}},
		{"reject-publish by bytes", Table{ArgMaxLengthBytes: int32(10), ArgOverflow: OverflowRejectPublish},
			[]string{"aaaa", "bbbb", "cccc", "dd"}, []string{"cccc"}, []string{"aaaa", "bbbb", "dd"}},
		{"reject-publish-dlx without a dlx", Table{ArgMaxLength: int32(1), ArgOverflow: OverflowRejectPublishDLX},
			[]string{"1", "2"}, []string{"2"}, []string{"1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{Args: tc.args})
			for _, b := range tc.bodies {
				err := h.publish(s, "", "q", b, Properties{})
				if slices.Contains(tc.rejected, b) {
					rbErr(t, err, ResourceLimit, "queue 'q' in vhost '/'")
				} else if err != nil {
					t.Fatalf("publish %q: %v", b, err)
				}
			}
			rbEqual(t, "left in the queue", h.drain(s, "q"), tc.left)
		})
	}
}

// RabbitMQ counts only ready messages against x-max-length: unacknowledged
// deliveries make room.
func TestQueueMaxLengthCountsReadyOnly(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{Args: Table{ArgMaxLength: int32(1), ArgOverflow: OverflowRejectPublish}})
	rbPublish(h, s, "", "q", "a")
	d := h.get(s, "q", false)
	rbPublish(h, s, "", "q", "b")
	rbErr(t, h.publish(s, "", "q", "c", Properties{}), ResourceLimit, "")
	// Requeueing may take the queue above its limit; nothing is lost.
	must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
	rbEqual(t, "queue", h.drain(s, "q"), []string{"a", "b"})
}

// drop-head applies after a requeue too: RabbitMQ's requeue_and_run drops from
// the head when the queue is over its limit (the requeued message is the head).
func TestQueueMaxLengthDropHeadAfterRequeue(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeadLetterSetup(t, s, Table{ArgMaxLength: int32(2)})
	rbPublish(h, s, "", "src", "a", "b")
	d := h.get(s, "src", false)
	rbPublish(h, s, "", "src", "c")
	must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
	rbEqual(t, "src", h.drain(s, "src"), []string{"b", "c"})
	rbEqual(t, "dead-lettered", h.drain(s, "dlq"), []string{"a"})
}

// A message refused by one queue still reaches the others; the confirm
// carries the refusal.
func TestQueueRejectPublishOtherQueuesStillGetIt(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "full", QueueOptions{Args: Table{ArgMaxLength: int32(0), ArgOverflow: OverflowRejectPublish}})
	rbDeclare(t, s, "open", QueueOptions{})
	rbBind(t, s, "full", "amq.fanout", "", nil)
	rbBind(t, s, "open", "amq.fanout", "", nil)
	rbErr(t, h.publish(s, "amq.fanout", "", "m", Properties{}), ResourceLimit, "queue 'full'")
	rbEqual(t, "open", h.drain(s, "open"), []string{"m"})
	rbEqual(t, "full", h.drain(s, "full"), nil)
}

func TestQueueTTL(t *testing.T) {
	cases := []struct {
		name       string
		queueTTL   int64  // ms; -1 none
		expiration string // per-message
		expireAt   time.Duration
	}{
		{"queue ttl", 1000, "", time.Second},
		{"message ttl", -1, "300", 300 * time.Millisecond},
		{"message ttl below queue ttl", 1000, "500", 500 * time.Millisecond},
		{"queue ttl below message ttl", 1000, "2000", time.Second},
		{"equal ttls", 700, "700", 700 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			args := Table{}
			if tc.queueTTL >= 0 {
				args[ArgMessageTTL] = tc.queueTTL
			}
			rbDeclare(t, s, "q", QueueOptions{Args: args})
			must(t, h.publish(s, "", "q", "m", Properties{Expiration: tc.expiration}))
			h.clock.Advance(tc.expireAt - time.Millisecond)
			if n := rbInfo(h, "q").Ready; n != 1 {
				t.Fatalf("1 ms before expiry: %d ready, want 1", n)
			}
			h.clock.Advance(time.Millisecond)
			if n := rbInfo(h, "q").Ready; n != 0 {
				t.Fatalf("at expiry: %d ready, want 0", n)
			}
			if d := h.get(s, "q", false); d != nil {
				t.Fatalf("got expired message %q", d.Message.Body)
			}
		})
	}
}

// Messages expire from the head only: a short per-message TTL behind a live
// message waits until it reaches the head (RabbitMQ's documented caveat).
func TestQueueTTLBehindLiveHead(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", "head")
	must(t, h.publish(s, "", "q", "short", Properties{Expiration: "100"}))
	must(t, h.publish(s, "", "q", "live", Properties{Expiration: "100000"}))
	h.clock.Advance(time.Second)
	if n := rbInfo(h, "q").Ready; n != 3 {
		t.Fatalf("%d ready, want 3: the expired message waits behind the head", n)
	}
	d := h.get(s, "q", false)
	if string(d.Message.Body) != "head" {
		t.Fatalf("first get = %q", d.Message.Body)
	}
	must(t, s.Ack(d.Tag, false))
	// "short" is at the head now and past its TTL: the next get skips it.
	rbEqual(t, "rest", h.drain(s, "q"), []string{"live"})
}

// A head that expires later than messages behind it holds them until it
// expires; then they all go at once.
func TestQueueTTLHeadExpiresLater(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	must(t, h.publish(s, "", "q", "long", Properties{Expiration: "1000"}))
	must(t, h.publish(s, "", "q", "short", Properties{Expiration: "100"}))
	h.clock.Advance(100 * time.Millisecond)
	if n := rbInfo(h, "q").Ready; n != 2 {
		t.Fatalf("%d ready after 100ms, want 2", n)
	}
	h.clock.Advance(900 * time.Millisecond)
	if n := rbInfo(h, "q").Ready; n != 0 {
		t.Fatalf("%d ready after 1s, want 0", n)
	}
}

// An unacknowledged message does not expire; requeued after its TTL has
// passed it keeps its original expiry and is dropped.
func TestQueueTTLUnackedThenRequeued(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{Args: Table{ArgMessageTTL: int32(1000)}})
	rbPublish(h, s, "", "q", "a", "b")
	d := h.get(s, "q", false)
	h.clock.Advance(2 * time.Second)
	if info := rbInfo(h, "q"); info.Ready != 0 || info.Unacked != 1 {
		t.Fatalf("after 2s: %+v, want 0 ready (b expired) and 1 unacked", info)
	}
	must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
	if d := h.get(s, "q", false); d != nil {
		t.Fatalf("got %q, whose TTL had passed", d.Message.Body)
	}
}

// RabbitMQ: a message with TTL 0 is delivered only if a consumer can take it
// at once; otherwise it expires on arrival.
func TestQueueTTLZero(t *testing.T) {
	for _, viaQueue := range []bool{false, true} {
		t.Run(fmt.Sprintf("queue-ttl=%v", viaQueue), func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			args := Table{}
			props := Properties{Expiration: "0"}
			if viaQueue {
				args[ArgMessageTTL] = int32(0)
				props = Properties{}
			}
			rbDeclare(t, s, "q", QueueOptions{Args: args})
			// No consumer: gone on arrival.
			must(t, h.publish(s, "", "q", "nobody", props))
			if n := rbInfo(h, "q").Ready; n != 0 {
				t.Fatalf("%d ready without a consumer, want 0", n)
			}
			// A consumer with credit gets it.
			_, k := rbConsume(t, s, "q", ConsumeOptions{PrefetchCount: 1})
			must(t, h.publish(s, "", "q", "waiting", props))
			rbExpect(t, k, "waiting")
			// The consumer has no credit left: the next one expires.
			must(t, h.publish(s, "", "q", "no-credit", props))
			if n := rbInfo(h, "q").Ready; n != 0 {
				t.Fatalf("%d ready with no credit, want 0", n)
			}
			must(t, s.Ack(k.deliveries()[0].Tag, false))
			h.clock.Advance(time.Second)
			rbEqual(t, "delivered", k.bodies(), []string{"waiting"})
		})
	}
}

func TestQueueInvalidExpiration(t *testing.T) {
	for _, exp := range []string{"abc", "-1", "1.5", " 10", "10ms", "0x10"} {
		t.Run(exp, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{})
			confirmed := false
			_, err := s.Publish(&Message{RoutingKey: "q", Properties: Properties{Expiration: exp}, Body: []byte("m")},
				PublishOptions{Confirm: func(error) { confirmed = true }})
			rbErr(t, err, PreconditionFailed, "invalid expiration '"+exp+"'")
			if confirmed {
				t.Fatal("Confirm called for a publish that failed")
			}
			if n := rbInfo(h, "q").Ready; n != 0 {
				t.Fatalf("%d ready, want 0", n)
			}
		})
	}
}

func TestQueueRequeueOrder(t *testing.T) {
	type step func(h *harness, s *Session, ds []*Delivery)
	nack := func(i ...int) step {
		return func(h *harness, s *Session, ds []*Delivery) {
			for _, n := range i {
				must(h.t, s.Nack(ds[n-1].Tag, NackOptions{Requeue: true}))
			}
		}
	}
	cases := []struct {
		name        string
		requeue     step
		want        []string // next bodies after publishing "6"
		redelivered []string
	}{
		{"nack 2 and 4", nack(2, 4), []string{"2", "4", "6"}, []string{"2", "4"}},
		{"nack 4 then 2", nack(4, 2), []string{"2", "4", "6"}, []string{"2", "4"}},
		{"nack multiple", func(h *harness, s *Session, ds []*Delivery) {
			must(h.t, s.Ack(ds[0].Tag, false))
			must(h.t, s.Nack(ds[2].Tag, NackOptions{Requeue: true, Multiple: true}))
		}, []string{"2", "3", "6"}, []string{"2", "3"}},
		{"recover", func(h *harness, s *Session, ds []*Delivery) {
			must(h.t, s.Ack(ds[2].Tag, false))
			s.Recover()
		}, []string{"1", "2", "4", "5", "6"}, []string{"1", "2", "4", "5"}},
		{"touch zero", func(h *harness, s *Session, ds []*Delivery) {
			must(h.t, s.Touch(ds[4].Tag, 0))
			must(h.t, s.Touch(ds[1].Tag, 0))
		}, []string{"2", "5", "6"}, []string{"2", "5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{})
			rbPublish(h, s, "", "q", rbNums(5)...)
			ds := rbGetN(h, s, "q", 5)
			for i, d := range ds {
				if d.Redelivered || d.Count != 1 || string(d.Message.Body) != fmt.Sprint(i+1) || d.Remaining != 4-i {
					t.Fatalf("first delivery %d: %q redelivered=%v count=%d remaining=%d", i, d.Message.Body,
						d.Redelivered, d.Count, d.Remaining)
				}
			}
			tc.requeue(h, s, ds)
			rbPublish(h, s, "", "q", "6")
			var got, redelivered []string
			for {
				d := h.get(s, "q", true)
				if d == nil {
					break
				}
				got = append(got, string(d.Message.Body))
				if d.Redelivered {
					redelivered = append(redelivered, string(d.Message.Body))
					if d.Count != 2 {
						t.Fatalf("%q: Count = %d, want 2", d.Message.Body, d.Count)
					}
				} else if d.Count != 1 {
					t.Fatalf("%q: Count = %d, want 1", d.Message.Body, d.Count)
				}
			}
			rbEqual(t, "order after requeue", got, tc.want)
			rbEqual(t, "redelivered", redelivered, tc.redelivered)
		})
	}
}

// Closing a session puts its unacknowledged messages back in place, ahead of
// the messages published after them.
func TestQueueRequeueOnSessionClose(t *testing.T) {
	h := newHarness(t)
	owner := h.session("")
	rbDeclare(t, owner, "q", QueueOptions{})
	rbPublish(h, owner, "", "q", rbNums(5)...)
	ds := rbGetN(h, owner, "q", 4)
	must(t, owner.Ack(ds[1].Tag, false))
	owner.Close()
	other := h.session("")
	var got []string
	for _, d := range rbGetN(h, other, "q", 4) {
		got = append(got, fmt.Sprintf("%s:%v:%d", d.Message.Body, d.Redelivered, d.Count))
	}
	rbEqual(t, "after close", got, []string{"1:true:2", "3:true:2", "4:true:2", "5:false:1"})
}

// A consumer with credit receives requeued messages again at once; the
// redelivery count grows with each delivery.
func TestQueueRequeueToConsumer(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbPublish(h, s, "", "q", rbNums(5)...)
	_, k := rbConsume(t, s, "q", ConsumeOptions{PrefetchCount: 5})
	rbExpect(t, k, rbNums(5)...)
	ds := k.deliveries()
	must(t, s.Nack(ds[3].Tag, NackOptions{Requeue: true}))
	must(t, s.Nack(ds[1].Tag, NackOptions{Requeue: true}))
	rbExpect(t, k, "1", "2", "3", "4", "5", "4", "2")
	must(t, s.Ack(ds[0].Tag, false))
	must(t, s.Ack(ds[2].Tag, false))
	// Credit: 3 unsettled of 5, so 6 and 7 come next; then requeue 2 again,
	// which goes ahead of 8.
	rbPublish(h, s, "", "q", "6", "7", "8")
	rbExpect(t, k, "1", "2", "3", "4", "5", "4", "2", "6", "7")
	ds = k.deliveries()
	must(t, s.Nack(ds[6].Tag, NackOptions{Requeue: true}))
	rbExpect(t, k, "1", "2", "3", "4", "5", "4", "2", "6", "7", "2")
	last := k.deliveries()[9]
	if !last.Redelivered || last.Count != 3 {
		t.Fatalf("third delivery of 2: redelivered=%v count=%d", last.Redelivered, last.Count)
	}
}

func TestQueuePriority(t *testing.T) {
	type msg struct {
		body string
		prio uint8
	}
	in := []msg{{"p0a", 0}, {"p5a", 5}, {"p10a", 10}, {"p3", 3}, {"p11", 11}, {"p5b", 5}, {"p255", 255},
		{"p0b", 0}, {"p10b", 10}, {"p1", 1}}
	cases := []struct {
		name string
		args Table
		want []string
	}{
		{"max-priority 10", Table{ArgMaxPriority: int32(10)},
			[]string{"p10a", "p11", "p255", "p10b", "p5a", "p5b", "p3", "p1", "p0a", "p0b"}},
		{"max-priority 5 caps higher priorities", Table{ArgMaxPriority: uint8(5)},
			[]string{"p5a", "p10a", "p11", "p5b", "p255", "p10b", "p3", "p1", "p0a", "p0b"}},
		{"no max-priority is fifo", nil,
			[]string{"p0a", "p5a", "p10a", "p3", "p11", "p5b", "p255", "p0b", "p10b", "p1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{Args: tc.args})
			for _, m := range in {
				must(t, h.publish(s, "", "q", m.body, Properties{Priority: m.prio}))
			}
			// A consumer that starts after the messages arrive sees them in
			// priority order.
			_, k := rbConsume(t, s, "q", ConsumeOptions{NoAck: true})
			rbExpect(t, k, tc.want...)
		})
	}
}

// A requeued message returns to its place within its priority.
func TestQueuePriorityRequeue(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{Args: Table{ArgMaxPriority: int32(10)}})
	for i, p := range []uint8{1, 9, 9, 1} {
		must(t, h.publish(s, "", "q", fmt.Sprintf("%d-%d", i, p), Properties{Priority: p}))
	}
	ds := rbGetN(h, s, "q", 3) // 1-9, 2-9, 0-1
	rbEqual(t, "first gets", rbBodies(ds), []string{"1-9", "2-9", "0-1"})
	must(t, s.Nack(ds[2].Tag, NackOptions{Requeue: true}))
	must(t, s.Nack(ds[0].Tag, NackOptions{Requeue: true}))
	must(t, h.publish(s, "", "q", "4-9", Properties{Priority: 9}))
	rbEqual(t, "after requeue", h.drain(s, "q"), []string{"1-9", "4-9", "0-1", "3-1"})
}

// x-delivery-limit: a message returned more times than the limit is dead-
// lettered (here: dropped, no DLX). Quorum queues default to a limit of 20.
func TestQueueDeliveryLimit(t *testing.T) {
	cases := []struct {
		name       string
		o          QueueOptions
		deliveries int // deliveries before the message is gone
	}{
		{"limit 0", QueueOptions{Args: Table{ArgDeliveryLimit: int32(0)}}, 1},
		{"limit 2", QueueOptions{Args: Table{ArgDeliveryLimit: int64(2)}}, 3},
		{"quorum default 20", QueueOptions{Durable: true, Args: Table{ArgQueueType: TypeQuorum}}, 21},
		{"quorum explicit 3", QueueOptions{Durable: true, Args: Table{ArgQueueType: TypeQuorum, ArgDeliveryLimit: int32(3)}}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", tc.o)
			rbPublish(h, s, "", "q", "m", "next")
			for i := 1; i <= tc.deliveries; i++ {
				d := h.get(s, "q", false)
				if d == nil || string(d.Message.Body) != "m" || int(d.Count) != i {
					t.Fatalf("delivery %d: %+v", i, d)
				}
				must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
			}
			rbEqual(t, "left", h.drain(s, "q"), []string{"next"})
		})
	}
	t.Run("classic has no limit", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "q", QueueOptions{Durable: true})
		rbPublish(h, s, "", "q", "m")
		for i := 0; i < 50; i++ {
			d := h.get(s, "q", false)
			must(t, s.Nack(d.Tag, NackOptions{Requeue: true}))
		}
		rbEqual(t, "left", h.drain(s, "q"), []string{"m"})
	})
}
