package core

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Recovery from the durable store: stop the broker, close the store, reopen
// both, and check what came back.

// durableHarness starts a broker on a durable store in dir.
func durableHarness(t *testing.T, dir string, cfg Config) *harness {
	t.Helper()
	st, err := store.OpenDurable(dir, store.DurableOptions{})
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return newHarnessStore(t, st, cfg)
}

// restart stops h's broker, closes its store and starts a new broker on the
// same directory.
func restart(t *testing.T, h *harness, dir string, cfg Config) *harness {
	t.Helper()
	must(t, h.b.Close())
	must(t, h.st.Flush())
	must(t, h.st.Close())
	return durableHarness(t, dir, cfg)
}

var persistent = Properties{DeliveryMode: Persistent}

func TestRecoverMessages(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	declareQ(t, s, "dq", QueueOptions{Durable: true})
	declareQ(t, s, "acked", QueueOptions{Durable: true})
	declareQ(t, s, "tq", QueueOptions{})
	for i := range 5 {
		must(t, h.publish(s, "", "dq", fmt.Sprint("m", i), persistent))
		must(t, h.publish(s, "", "dq", fmt.Sprint("transient", i), Properties{}))
		must(t, h.publish(s, "", "tq", fmt.Sprint("t", i), persistent))
		must(t, h.publish(s, "", "acked", fmt.Sprint("a", i), persistent))
	}
	// Ack a0..a2 one way or another; a3 and a4 stay.
	d := getOne(t, s, "acked", GetOptions{})
	must(t, s.Ack(d.Tag, false))
	ds := getWith(t, s, "acked", GetOptions{Max: 2})
	must(t, s.Ack(ds[1].Tag, true))
	// Purging writes nothing for a non-durable queue's messages.
	n, err := s.Purge("tq")
	must(t, err)
	if n != 5 {
		t.Fatalf("purged %d", n)
	}

	h = restart(t, h, dir, Config{})
	s = h.session("")
	vh := h.b.VHost("/")
	if vh.Queue("tq") != nil {
		t.Fatal("a non-durable queue came back")
	}
	if got := h.drain(s, "dq"); !slices.Equal(got, []string{"m0", "m1", "m2", "m3", "m4"}) {
		t.Fatalf("dq after restart: %q", got)
	}
	if got := h.drain(s, "acked"); !slices.Equal(got, []string{"a3", "a4"}) {
		t.Fatalf("acked after restart: %q", got)
	}

	// New messages go behind the recovered ones and get fresh ids: a
	// collision with a recovered message id would overwrite its body.
	must(t, h.publish(s, "", "acked", "late", persistent))
	h = restart(t, h, dir, Config{})
	s = h.session("")
	if got := h.drain(s, "acked"); !slices.Equal(got, []string{"late"}) {
		t.Fatalf("after a second restart: %q", got)
	}
	if got := h.drain(s, "dq"); len(got) != 0 {
		t.Fatalf("acked messages came back: %q", got)
	}
}

// TestRecoverOrderAfterRestartPublish: messages published after a restart
// queue behind the recovered ones, and both survive a second restart.
func TestRecoverOrderAfterRestartPublish(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Durable: true})
	declareQ(t, s, "other", QueueOptions{Durable: true})
	for i := range 3 {
		must(t, h.publish(s, "", "q", fmt.Sprint("old", i), persistent))
	}
	h = restart(t, h, dir, Config{})
	s = h.session("")
	// A queue declared after the restart must not share a store id with a
	// recovered one.
	declareQ(t, s, "new", QueueOptions{Durable: true})
	for i := range 2 {
		must(t, h.publish(s, "", "q", fmt.Sprint("new", i), persistent))
		must(t, h.publish(s, "", "new", fmt.Sprint("n", i), persistent))
		must(t, h.publish(s, "", "other", fmt.Sprint("o", i), persistent))
	}
	h = restart(t, h, dir, Config{})
	s = h.session("")
	for q, want := range map[string][]string{
		"q":     {"old0", "old1", "old2", "new0", "new1"},
		"new":   {"n0", "n1"},
		"other": {"o0", "o1"},
	} {
		if got := h.drain(s, q); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
}

func TestRecoverUnackedRedelivered(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Durable: true, Args: Table{ArgVisibility: int32(60000)}})
	for i := range 3 {
		must(t, h.publish(s, "", "q", fmt.Sprint("m", i), persistent))
	}
	getOne(t, s, "q", GetOptions{}) // leased with a deadline
	k := newSink()                  // and one held by a consumer
	_, err := s.Consume("q", ConsumeOptions{PrefetchCount: 1}, k)
	must(t, err)
	waitFor(t, "consumer delivery", func() bool { return len(k.deliveries()) == 1 })

	h = restart(t, h, dir, Config{})
	s = h.session("")
	q := h.b.VHost("/").Queue("q")
	wantInfo(t, q, 3, 0, 0)
	ds := getWith(t, s, "q", GetOptions{Max: 10})
	if got := bodiesOf(ds); !slices.Equal(got, []string{"m0", "m1", "m2"}) {
		t.Fatalf("after restart: %q", got)
	}
	for _, d := range ds[:2] {
		if !d.Redelivered {
			t.Errorf("%s was unacked at shutdown but is not marked redelivered", d.Message.Body)
		}
	}
}

func TestRecoverTopology(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	durable := func(name, kind string, args Table) {
		must(t, s.DeclareExchange(name, ExchangeOptions{Kind: kind, Durable: true, Args: args}))
	}
	durable("ae", KindFanout, nil)
	durable("main", KindDirect, Table{ArgAlternateExchange: "ae"})
	durable("events", KindTopic, nil)
	durable("src", KindFanout, nil)
	durable("hx", KindHeaders, nil)
	must(t, s.DeclareExchange("internal", ExchangeOptions{Kind: KindFanout, Durable: true, Internal: true}))
	must(t, s.DeclareExchange("transient", ExchangeOptions{Kind: KindFanout}))
	for _, q := range []string{"qa", "qd", "qt", "qh", "qi"} {
		declareQ(t, s, q, QueueOptions{Durable: true})
	}
	declareQ(t, s, "gone", QueueOptions{})
	must(t, s.Bind("qa", "ae", "", nil, false))
	must(t, s.Bind("qd", "main", "rk", nil, false))
	must(t, s.Bind("qt", "events", "orders.*.eu", nil, false))
	must(t, s.Bind("qt", "amq.topic", "audit.#", nil, false))
	must(t, s.Bind("events", "src", "", nil, true)) // exchange to exchange
	must(t, s.Bind("qh", "hx", "", Table{"x-match": "any", "k": "v", "n": int16(7)}, false))
	must(t, s.Bind("qi", "internal", "", nil, false))
	must(t, s.Bind("internal", "main", "to-internal", nil, true))
	must(t, s.Bind("qd", "transient", "", nil, false))
	must(t, s.Bind("gone", "main", "rk", nil, false))

	h = restart(t, h, dir, Config{})
	s = h.session("")
	vh := h.b.VHost("/")
	if vh.Exchange("transient") != nil || vh.Queue("gone") != nil {
		t.Fatal("transient exchange or queue came back")
	}
	// Redeclaring with the same properties is accepted (the arguments came
	// back with their types); other properties are not.
	must(t, s.DeclareExchange("main", ExchangeOptions{Kind: KindDirect, Durable: true, Args: Table{ArgAlternateExchange: "ae"}}))
	wantCode(t, s.DeclareExchange("main", ExchangeOptions{Kind: KindDirect, Durable: true}), PreconditionFailed)
	wantCode(t, s.DeclareExchange("internal", ExchangeOptions{Kind: KindFanout, Durable: true}), PreconditionFailed)
	_, err := s.Publish(&Message{Exchange: "internal", Body: []byte("x")}, PublishOptions{})
	wantCode(t, err, AccessRefused)

	route := func(x, rk string, headers Table) {
		t.Helper()
		sendConfirmed(t, s, &Message{Exchange: x, RoutingKey: rk, Body: []byte(x + "/" + rk),
			Properties: Properties{Headers: headers}})
	}
	route("main", "rk", nil)              // qd
	route("main", "nowhere", nil)         // qa through the alternate exchange
	route("events", "orders.new.eu", nil) // qt
	route("events", "orders.new.us", nil) // nowhere
	route("src", "orders.old.eu", nil)    // qt through src → events
	route("amq.topic", "audit.x.y", nil)  // qt
	route("hx", "", Table{"k": "v"})      // qh
	route("hx", "", Table{"n": int16(7)}) // qh
	route("hx", "", Table{"k": "w"})      // nowhere
	route("main", "to-internal", nil)     // qi through the internal exchange
	want := map[string][]string{
		"qd": {"main/rk"},
		"qa": {"main/nowhere"},
		"qt": {"events/orders.new.eu", "src/orders.old.eu", "amq.topic/audit.x.y"},
		"qh": {"hx/", "hx/"},
		"qi": {"main/to-internal"},
	}
	for q, w := range want {
		if got := h.drain(s, q); !slices.Equal(got, w) {
			t.Errorf("%s: %q, want %q", q, got, w)
		}
	}

	// Bindings recovered from the store can be removed, and stay removed.
	must(t, s.Unbind("qd", "main", "rk", nil, false))
	must(t, s.Unbind("qh", "hx", "", Table{"x-match": "any", "k": "v", "n": int16(7)}, false))
	must(t, s.Unbind("events", "src", "", nil, true))
	h = restart(t, h, dir, Config{})
	s = h.session("")
	route("main", "rk", nil)
	route("hx", "", Table{"k": "v"})
	route("src", "orders.old.eu", nil)
	want = map[string][]string{"qd": nil, "qa": {"main/rk"}, "qh": nil, "qt": nil}
	for q, w := range want {
		if got := h.drain(s, q); !slices.Equal(got, w) {
			t.Errorf("after unbind and restart %s: %q, want %q", q, got, w)
		}
	}
}

func TestRecoverQueueArgs(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	args := Table{ArgMaxPriority: int32(10), ArgMessageTTL: int64(3600000), ArgMaxLength: int16(100),
		ArgDLX: "dlx", ArgDLRK: "dead", ArgVisibility: int32(5000)}
	declareQ(t, s, "q", QueueOptions{Durable: true, AutoDelete: false, Args: args})
	declareQ(t, s, "f", QueueOptions{Durable: true, Args: fifoArgs})

	h = restart(t, h, dir, Config{})
	s = h.session("")
	declareQ(t, s, "q", QueueOptions{Durable: true, Args: args})
	_, err := s.DeclareQueue("q", QueueOptions{Durable: true, Args: Table{ArgMaxPriority: int32(5)}})
	wantCode(t, err, PreconditionFailed)
	q := h.b.VHost("/").Queue("q")
	if q.cfg.visibility != 5*time.Second || q.cfg.maxPriority != 10 || q.cfg.dlrk != "dead" {
		t.Fatalf("recovered config: %+v", q.cfg)
	}
	if _, ok := h.b.VHost("/").Queue("f").ready.(*fifoReady); !ok {
		t.Fatal("FIFO queue came back as a classic queue")
	}
}

func TestRecoverUsersAndPermissions(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	b := h.b
	must(t, b.AddVHost("v2"))
	must(t, b.PutUser("alice", "s3cret", []string{"management", "policymaker"}))
	must(t, b.SetPermissions("alice", "v2", "^al-", `^(al-.*|amq\.topic)$`, "^al-"))
	must(t, b.SetTopicPermissions("alice", "v2", "amq.topic", `^a\.`, `^a\.`))
	must(t, b.PutUser("bob", "pw", nil))
	must(t, b.SetPermissions("bob", "/", ".*", ".*", ".*"))
	must(t, b.DeleteUser("bob"))

	h = restart(t, h, dir, Config{})
	b = h.b
	lo := &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}
	if !slices.Contains(b.VHosts(), "v2") {
		t.Fatalf("vhosts after restart: %q", b.VHosts())
	}
	must(t, b.Authenticate("alice", "s3cret", lo))
	wantCode(t, b.Authenticate("alice", "wrong", lo), AccessRefused)
	must(t, b.Authenticate("guest", "guest", lo))
	wantCode(t, b.Authenticate("bob", "pw", lo), AccessRefused)
	if u, _ := b.users.User("alice"); !slices.Equal(u.Tags, []string{"management", "policymaker"}) {
		t.Fatalf("alice's tags: %q", u.Tags)
	}
	_, err := b.Connect("alice", "/", ConnectOptions{})
	wantCode(t, err, AccessRefused)
	_, err = b.Connect("bob", "/", ConnectOptions{})
	wantCode(t, err, AccessRefused)
	c, err := b.Connect("alice", "v2", ConnectOptions{})
	must(t, err)
	t.Cleanup(c.Close)
	s, err := c.OpenSession()
	must(t, err)
	_, err = s.DeclareQueue("al-q", QueueOptions{})
	must(t, err)
	_, err = s.DeclareQueue("other", QueueOptions{})
	wantCode(t, err, AccessRefused)
	_, err = s.Publish(&Message{Exchange: "amq.topic", RoutingKey: "a.x", Body: []byte("p")}, PublishOptions{})
	must(t, err)
	_, err = s.Publish(&Message{Exchange: "amq.topic", RoutingKey: "b.x", Body: []byte("p")}, PublishOptions{})
	wantCode(t, err, AccessRefused)
	wantCode(t, s.Bind("al-q", "amq.topic", "b.#", nil, false), AccessRefused)

	// Deleting a user after a restart removes the recovered records too.
	must(t, b.DeleteUser("alice"))
	h = restart(t, h, dir, Config{})
	wantCode(t, h.b.Authenticate("alice", "s3cret", lo), AccessRefused)
	_, err = h.b.Connect("alice", "v2", ConnectOptions{})
	wantCode(t, err, AccessRefused)
}

func TestRecoverPriorityOrder(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	args := Table{ArgMaxPriority: int32(10)}
	declareQ(t, s, "q", QueueOptions{Durable: true, Args: args})
	for i, p := range []uint8{1, 5, 3, 5, 0, 10, 200} {
		must(t, h.publish(s, "", "q", fmt.Sprintf("p%d-%d", p, i), Properties{DeliveryMode: Persistent, Priority: p}))
	}
	h = restart(t, h, dir, Config{})
	s = h.session("")
	want := []string{"p10-5", "p200-6", "p5-1", "p5-3", "p3-2", "p1-0", "p0-4"}
	if got := h.drain(s, "q"); !slices.Equal(got, want) {
		t.Fatalf("after restart: %q, want %q", got, want)
	}
}

func TestRecoverFIFOGroups(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	declareQ(t, s, "f", QueueOptions{Durable: true, Args: fifoArgs})
	for _, b := range []string{"a1", "b1", "a2", "b2", "a3"} {
		sendConfirmed(t, s, &Message{RoutingKey: "f", GroupID: string(b[0]), Body: []byte(b), Properties: persistent})
	}
	getOne(t, s, "f", GetOptions{}) // a1 in flight at shutdown

	h = restart(t, h, dir, Config{})
	s1, s2, s3 := h.session(""), h.session(""), h.session("")
	a := getOne(t, s1, "f", GetOptions{})
	if string(a.Message.Body) != "a1" || !a.Redelivered || a.Message.GroupID != "a" {
		t.Fatalf("first after restart: %q group %q redelivered %v", a.Message.Body, a.Message.GroupID, a.Redelivered)
	}
	b := getOne(t, s2, "f", GetOptions{})
	if string(b.Message.Body) != "b1" {
		t.Fatalf("second Get: %q, want b1 (group a is blocked)", b.Message.Body)
	}
	getNone(t, s3, "f")
	must(t, s1.Ack(a.Tag, false))
	must(t, s2.Ack(b.Tag, false))
	if got := h.drain(s3, "f"); !slices.Equal(got, []string{"a2", "b2", "a3"}) {
		t.Fatalf("then: %q", got)
	}
}

func TestRecoverDeadLetterHeaders(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	declareQ(t, s, "src", QueueOptions{Durable: true, Args: Table{ArgDLX: "", ArgDLRK: "dlq"}})
	declareQ(t, s, "dlq", QueueOptions{Durable: true})
	props := Properties{DeliveryMode: Persistent, MessageID: "id-1", Expiration: "600000",
		Headers: Table{"h": int16(7), "nested": Table{"a": []any{int8(1), "two"}}}}
	must(t, h.publish(s, "", "src", "m", props))
	d := getOne(t, s, "src", GetOptions{})
	must(t, s.Nack(d.Tag, NackOptions{}))
	waitFor(t, "the dead-lettered copy", func() bool { return h.b.VHost("/").Queue("dlq").Info().Ready == 1 })

	h = restart(t, h, dir, Config{})
	s = h.session("")
	wantInfo(t, h.b.VHost("/").Queue("src"), 0, 0, 0)
	d = getOne(t, s, "dlq", GetOptions{})
	m := d.Message
	if string(m.Body) != "m" || m.Properties.MessageID != "id-1" || m.Properties.Expiration != "" {
		t.Fatalf("dead-lettered message: %+v", m)
	}
	hd := m.Properties.Headers
	if hd["h"] != int16(7) {
		t.Errorf("header h = %#v", hd["h"])
	}
	if n, _ := hd["nested"].(Table); n == nil || !slices.Equal(n["a"].([]any), []any{int8(1), "two"}) {
		t.Errorf("header nested = %#v", hd["nested"])
	}
	deaths, _ := hd["x-death"].([]any)
	if len(deaths) != 1 {
		t.Fatalf("x-death = %#v", hd["x-death"])
	}
	death, _ := deaths[0].(Table)
	want := Table{"count": int64(1), "reason": "rejected", "queue": "src", "exchange": "",
		"routing-keys": []any{"src"}, "original-expiration": "600000"}
	for k, v := range want {
		if !sameValue(death[k], v) {
			t.Errorf("x-death[0][%q] = %#v, want %#v", k, death[k], v)
		}
	}
	if ts, _ := death["time"].(time.Time); !ts.Equal(epoch) {
		t.Errorf("x-death[0][time] = %v, want %v", death["time"], epoch)
	}
	for k, v := range map[string]string{"x-first-death-reason": "rejected", "x-first-death-queue": "src",
		"x-first-death-exchange": "", "x-last-death-reason": "rejected", "x-last-death-queue": "src"} {
		if hd[k] != v {
			t.Errorf("%s = %#v, want %q", k, hd[k], v)
		}
	}
}

func sameValue(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok || bok {
		return aok && bok && slices.Equal(as, bs)
	}
	return a == b
}

// TestRecoverDelayed: a delayed message stays invisible across a restart
// until its time.
func TestRecoverDelayed(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	s := h.session("")
	declareQ(t, s, "q", QueueOptions{Durable: true})
	sendConfirmed(t, s, &Message{RoutingKey: "q", Body: []byte("later"), Delay: time.Minute, Properties: persistent})
	must(t, h.publish(s, "", "q", "now", persistent))

	h = restart(t, h, dir, Config{}) // the new fake clock reads epoch again
	s = h.session("")
	q := h.b.VHost("/").Queue("q")
	wantInfo(t, q, 1, 1, 0)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"now"}) {
		t.Fatalf("before the delay: %q", got)
	}
	h.clock.Advance(time.Minute)
	if got := h.drain(s, "q"); !slices.Equal(got, []string{"later"}) {
		t.Fatalf("after the delay: %q", got)
	}
}

// TestRecoverEvictedBody: with a body cache of one byte every persisted body
// leaves memory once on disk and is read back from the store when delivered,
// to a Get, a consumer, or a dead-letter exchange.
func TestRecoverEvictedBody(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{BodyCacheBytes: 1}
	h := durableHarness(t, dir, cfg)
	s := h.session("")
	must(t, s.DeclareExchange("fan", ExchangeOptions{Kind: KindFanout, Durable: true}))
	q1 := declareQ(t, s, "q1", QueueOptions{Durable: true, Args: Table{ArgDLX: "", ArgDLRK: "dlq"}})
	declareQ(t, s, "q2", QueueOptions{Durable: true})
	declareQ(t, s, "dlq", QueueOptions{Durable: true})
	must(t, s.Bind("q1", "fan", "", nil, false))
	must(t, s.Bind("q2", "fan", "", nil, false))
	props := Properties{DeliveryMode: Persistent, MessageID: "id", Headers: Table{"k": "v"}, ContentType: "text/plain"}
	for i := range 3 {
		must(t, h.publish(s, "fan", "", fmt.Sprint("body-", i), props))
	}
	q1.mu.Lock()
	head := q1.ready.peek()
	evicted := head.st.msg.Load() == nil
	q1.mu.Unlock()
	if !evicted {
		t.Fatal("body still in memory with a 1-byte cache")
	}
	if m := h.b.MemoryInUse(); m != 0 {
		t.Fatalf("MemoryInUse = %d with every body evicted", m)
	}

	check := func(d *Delivery, body string) {
		t.Helper()
		m := d.Message
		if string(m.Body) != body || m.Properties.MessageID != "id" || m.Properties.Headers["k"] != "v" ||
			m.Properties.ContentType != "text/plain" || !m.Persistent() {
			t.Fatalf("read back %q %+v, want %q", m.Body, m.Properties, body)
		}
	}
	d := getOne(t, s, "q1", GetOptions{})
	check(d, "body-0")
	must(t, s.Ack(d.Tag, false)) // q2 still references it
	d = getOne(t, s, "q1", GetOptions{})
	check(d, "body-1")
	must(t, s.Nack(d.Tag, NackOptions{})) // dead-lettered from the store
	waitFor(t, "the dead-lettered copy", func() bool { return h.b.VHost("/").Queue("dlq").Info().Ready == 1 })
	check(getOne(t, s, "dlq", GetOptions{NoAck: true}), "body-1")
	k := newSink()
	_, err := s.Consume("q2", ConsumeOptions{NoAck: true}, k)
	must(t, err)
	waitFor(t, "3 deliveries", func() bool { return len(k.deliveries()) == 3 })
	for i, d := range k.deliveries() {
		check(d, fmt.Sprint("body-", i))
	}

	h = restart(t, h, dir, cfg)
	s = h.session("")
	check(getOne(t, s, "q1", GetOptions{}), "body-2")
	getNone(t, s, "q2")
	getNone(t, s, "dlq")
}

// TestRecoverEmptyStore: a broker on a fresh durable store, restarted
// without doing anything, comes back with the harness's vhost and user.
func TestRecoverEmptyStore(t *testing.T) {
	dir := t.TempDir()
	h := durableHarness(t, dir, Config{})
	h = restart(t, h, dir, Config{})
	if !slices.Equal(h.b.VHosts(), []string{"/"}) {
		t.Fatalf("vhosts: %q", h.b.VHosts())
	}
	s := h.session("")
	for _, x := range []string{"", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"} {
		if h.b.VHost("/").Exchange(x) == nil {
			t.Errorf("standard exchange %q missing", x)
		}
	}
	_, err := s.Get(context.Background(), "missing", GetOptions{})
	wantCode(t, err, NotFound)
}

// TestRecoverFIFODedupWindow: a producer retrying a send across a restart is
// still deduplicated; once the window passes, the records are gone from the
// store too.
func TestRecoverFIFODedupWindow(t *testing.T) {
	dir := t.TempDir()
	clock := NewFakeClock(epoch)
	open := func() (*harness, store.Store) {
		st, err := store.OpenDurable(dir, store.DurableOptions{})
		must(t, err)
		h := newHarnessStore(t, st, Config{Clock: clock})
		return h, st
	}
	h, st := open()
	s := h.session("")
	_, err := s.DeclareQueue("f", QueueOptions{Durable: true, Args: Table{ArgQueueType: TypeFIFO}})
	must(t, err)
	send := func(s *Session, id string) PublishResult {
		res, err := s.Publish(&Message{RoutingKey: "f", GroupID: "g", DedupID: id, Body: []byte(id),
			Properties: Properties{DeliveryMode: Persistent, MessageID: "m-" + id}}, PublishOptions{})
		must(t, err)
		return res
	}
	send(s, "a")
	must(t, h.b.Close())
	must(t, st.Close())

	clock.Advance(time.Minute)
	h, st = open()
	s = h.session("")
	if res := send(s, "a"); !res.Duplicate || res.DuplicateOf != "m-a" {
		t.Fatalf("retry after restart: %+v, want a duplicate of m-a", res)
	}
	clock.Advance(5 * time.Minute)
	if res := send(s, "b"); res.Duplicate {
		t.Fatalf("new id deduplicated: %+v", res)
	}
	must(t, st.Flush())
	n := 0
	must(t, st.ForEachMeta(store.KindDedup, func(string, []byte) error { n++; return nil }))
	if n != 1 {
		t.Fatalf("%d dedup records stored, want 1 (a's expired)", n)
	}
	if res := send(s, "a"); res.Duplicate {
		t.Fatalf("after the window: %+v", res)
	}
	must(t, h.b.Close())
	must(t, st.Close())
}
