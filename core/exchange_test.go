package core

import (
	"sort"
	"sync"
	"testing"
)

// Exchanges end to end: each type, exchange-to-exchange bindings, alternate
// exchanges, mandatory returns, internal exchanges, declaration, equivalence,
// deletion, auto-delete and the default exchange. The topic and headers
// matchers themselves are tested in core/route.

// rbRoute publishes one message per key to x and returns, per queue, the
// bodies each queue received (drained).
type rbMsg struct {
	body, key string
	headers   Table
}

func rbRouteAll(h *harness, s *Session, x string, queues []string, msgs []rbMsg) map[string][]string {
	h.t.Helper()
	for _, m := range msgs {
		must(h.t, h.publish(s, x, m.key, m.body, Properties{Headers: m.headers}))
	}
	out := map[string][]string{}
	for _, q := range queues {
		got := h.drain(s, q)
		sort.Strings(got)
		out[q] = got
	}
	return out
}

func rbCheckRoutes(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for q, w := range want {
		sort.Strings(w)
		rbEqual(t, "queue "+q, got[q], w)
	}
}

func TestExchangeDirect(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "d", KindDirect, nil)
	for _, q := range []string{"q1", "q2", "q3"} {
		rbDeclare(t, s, q, QueueOptions{})
	}
	rbBind(t, s, "q1", "d", "a", nil)
	rbBind(t, s, "q2", "d", "b", nil)
	rbBind(t, s, "q1", "d", "c", nil)
	rbBind(t, s, "q2", "d", "c", nil)
	rbBind(t, s, "q3", "d", "", nil)
	// The same binding twice is one binding.
	rbBind(t, s, "q1", "d", "a", nil)
	got := rbRouteAll(h, s, "d", []string{"q1", "q2", "q3"}, []rbMsg{
		{"to-a", "a", nil}, {"to-b", "b", nil}, {"to-c", "c", nil}, {"to-empty", "", nil},
		{"to-A", "A", nil}, {"to-a.b", "a.b", nil}, {"to-x", "x", nil},
	})
	rbCheckRoutes(t, got, map[string][]string{
		"q1": {"to-a", "to-c"},
		"q2": {"to-b", "to-c"},
		"q3": {"to-empty"},
	})
}

func TestExchangeFanout(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "f", KindFanout, nil)
	rbDeclare(t, s, "q1", QueueOptions{})
	rbDeclare(t, s, "q2", QueueOptions{})
	rbDeclare(t, s, "q3", QueueOptions{})
	rbBind(t, s, "q1", "f", "", nil)
	rbBind(t, s, "q2", "f", "ignored", nil)
	rbBind(t, s, "q2", "f", "also-ignored", nil) // a second binding: still one copy
	got := rbRouteAll(h, s, "f", []string{"q1", "q2", "q3"}, []rbMsg{{"m1", "", nil}, {"m2", "any.key", nil}})
	rbCheckRoutes(t, got, map[string][]string{"q1": {"m1", "m2"}, "q2": {"m1", "m2"}, "q3": nil})
}

// RabbitMQ's tutorial 5 bindings.
func TestExchangeTopic(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "t", KindTopic, nil)
	for _, q := range []string{"q1", "q2", "all", "exact"} {
		rbDeclare(t, s, q, QueueOptions{})
	}
	rbBind(t, s, "q1", "t", "*.orange.*", nil)
	rbBind(t, s, "q2", "t", "*.*.rabbit", nil)
	rbBind(t, s, "q2", "t", "lazy.#", nil)
	rbBind(t, s, "all", "t", "#", nil)
	rbBind(t, s, "exact", "t", "quick.orange.rabbit", nil)
	msgs := []rbMsg{
		{"quick.orange.rabbit", "quick.orange.rabbit", nil},
		{"lazy.orange.elephant", "lazy.orange.elephant", nil},
		{"quick.orange.fox", "quick.orange.fox", nil},
		{"lazy.brown.fox", "lazy.brown.fox", nil},
		{"lazy.pink.rabbit", "lazy.pink.rabbit", nil},
		{"quick.brown.fox", "quick.brown.fox", nil},
		{"orange", "orange", nil},
		{"quick.orange.male.rabbit", "quick.orange.male.rabbit", nil},
		{"lazy.orange.male.rabbit", "lazy.orange.male.rabbit", nil},
		{"lazy", "lazy", nil},
		{"empty", "", nil},
	}
	var every []string
	for _, m := range msgs {
		every = append(every, m.body)
	}
	got := rbRouteAll(h, s, "t", []string{"q1", "q2", "all", "exact"}, msgs)
	rbCheckRoutes(t, got, map[string][]string{
		"q1":    {"quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox"},
		"q2":    {"quick.orange.rabbit", "lazy.orange.elephant", "lazy.brown.fox", "lazy.pink.rabbit", "lazy.orange.male.rabbit", "lazy"},
		"all":   every,
		"exact": {"quick.orange.rabbit"},
	})
	// Unbinding one pattern leaves the queue's other patterns in place.
	must(t, s.Unbind("q2", "t", "lazy.#", nil, false))
	got = rbRouteAll(h, s, "t", []string{"q2"}, []rbMsg{{"lazy.x", "lazy.x", nil}, {"a.b.rabbit", "a.b.rabbit", nil}})
	rbCheckRoutes(t, got, map[string][]string{"q2": {"a.b.rabbit"}})
}

func TestExchangeHeaders(t *testing.T) {
	for _, x := range []string{"hx", "amq.match", "amq.headers"} {
		t.Run(x, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			if x == "hx" {
				rbExchange(t, s, "hx", KindHeaders, nil)
			}
			rbDeclare(t, s, "all", QueueOptions{})
			rbDeclare(t, s, "any", QueueOptions{})
			rbDeclare(t, s, "default", QueueOptions{})
			rbDeclare(t, s, "present", QueueOptions{})
			rbBind(t, s, "all", x, "", Table{"x-match": "all", "format": "pdf", "type": int32(2)})
			rbBind(t, s, "any", x, "", Table{"x-match": "any", "format": "pdf", "type": int32(2)})
			rbBind(t, s, "default", x, "", Table{"format": "pdf", "type": int32(2)}) // x-match all
			rbBind(t, s, "present", x, "", Table{"x-match": "all", "format": nil})
			got := rbRouteAll(h, s, x, []string{"all", "any", "default", "present"}, []rbMsg{
				{"both", "ignored", Table{"format": "pdf", "type": int64(2)}},
				{"both+extra", "", Table{"format": "pdf", "type": uint8(2), "extra": true}},
				{"format", "", Table{"format": "pdf"}},
				{"type", "", Table{"type": int16(2)}},
				{"wrong-type", "", Table{"format": "pdf", "type": int32(3)}},
				{"zip", "", Table{"format": "zip"}},
				{"none", "", nil},
			})
			rbCheckRoutes(t, got, map[string][]string{
				"all":     {"both", "both+extra"},
				"default": {"both", "both+extra"},
				"any":     {"both", "both+extra", "format", "type", "wrong-type"},
				"present": {"both", "both+extra", "format", "wrong-type", "zip"},
			})
		})
	}
	t.Run("invalid x-match", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		rbDeclare(t, s, "q", QueueOptions{})
		err := s.Bind("q", "amq.match", "", Table{"x-match": "some"}, false)
		rbErr(t, err, PreconditionFailed, "")
	})
}

func TestExchangeToExchange(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "src", KindDirect, nil)
	rbExchange(t, s, "mid", KindFanout, nil)
	rbExchange(t, s, "leaf", KindTopic, nil)
	rbDeclare(t, s, "qmid", QueueOptions{})
	rbDeclare(t, s, "qleaf", QueueOptions{})
	must(t, s.Bind("mid", "src", "k", nil, true))
	must(t, s.Bind("leaf", "mid", "", nil, true))
	rbBind(t, s, "qmid", "mid", "", nil)
	rbBind(t, s, "qleaf", "leaf", "k", nil)
	got := rbRouteAll(h, s, "src", []string{"qmid", "qleaf"}, []rbMsg{{"k", "k", nil}, {"other", "other", nil}})
	rbCheckRoutes(t, got, map[string][]string{"qmid": {"k"}, "qleaf": {"k"}})
	// The key is kept along the way: the topic exchange matches the original key.
	must(t, s.Bind("leaf", "src", "x.y", nil, true))
	got = rbRouteAll(h, s, "src", []string{"qmid", "qleaf"}, []rbMsg{{"x.y", "x.y", nil}})
	rbCheckRoutes(t, got, map[string][]string{"qmid": nil, "qleaf": nil})
	// Unbinding an exchange-to-exchange binding stops the flow.
	must(t, s.Unbind("mid", "src", "k", nil, true))
	got = rbRouteAll(h, s, "src", []string{"qmid", "qleaf"}, []rbMsg{{"k2", "k", nil}})
	rbCheckRoutes(t, got, map[string][]string{"qmid": nil, "qleaf": nil})
	// Missing endpoints.
	rbErr(t, s.Bind("nope", "src", "k", nil, true), NotFound, "no exchange 'nope'")
	rbErr(t, s.Bind("mid", "nope", "k", nil, true), NotFound, "no exchange 'nope'")
	rbErr(t, s.Bind("", "src", "k", nil, true), AccessRefused, "operation not permitted on the default exchange")
}

// A cycle of exchanges terminates, and a queue reached by several paths gets
// one copy.
func TestExchangeCyclesAndDiamonds(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "x1", KindFanout, nil)
	rbExchange(t, s, "x2", KindFanout, nil)
	rbExchange(t, s, "x3", KindFanout, nil)
	rbDeclare(t, s, "q", QueueOptions{})
	rbDeclare(t, s, "self", QueueOptions{})
	// x1 → x2 → x3 → x1, q on x2 and x3 and x1; x1 also bound to itself.
	must(t, s.Bind("x2", "x1", "", nil, true))
	must(t, s.Bind("x3", "x2", "", nil, true))
	must(t, s.Bind("x1", "x3", "", nil, true))
	must(t, s.Bind("x1", "x1", "", nil, true))
	rbBind(t, s, "q", "x1", "", nil)
	rbBind(t, s, "q", "x2", "", nil)
	rbBind(t, s, "q", "x3", "", nil)
	for _, x := range []string{"x1", "x2", "x3"} {
		res, err := s.Publish(&Message{Exchange: x, Body: []byte(x)}, PublishOptions{})
		must(t, err)
		if res.Routed != 1 {
			t.Fatalf("publish to %s routed to %d queues, want 1", x, res.Routed)
		}
	}
	rbEqual(t, "q", h.drain(s, "q"), []string{"x1", "x2", "x3"})

	// Diamond: a → b, a → c, q on b and c (and on a with two keys).
	rbExchange(t, s, "a", KindTopic, nil)
	rbExchange(t, s, "b", KindFanout, nil)
	rbExchange(t, s, "c", KindDirect, nil)
	must(t, s.Bind("b", "a", "k.*", nil, true))
	must(t, s.Bind("c", "a", "#", nil, true))
	rbBind(t, s, "q", "b", "", nil)
	rbBind(t, s, "q", "c", "k.v", nil)
	rbBind(t, s, "q", "a", "k.v", nil)
	rbBind(t, s, "q", "a", "*.v", nil)
	rbPublish(h, s, "a", "k.v", "once")
	rbEqual(t, "diamond", h.drain(s, "q"), []string{"once"})
}

func TestExchangeAlternate(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "ae", KindFanout, nil)
	rbDeclare(t, s, "unrouted", QueueOptions{})
	rbBind(t, s, "unrouted", "ae", "", nil)
	rbExchange(t, s, "main", KindDirect, Table{ArgAlternateExchange: "ae"})
	rbDeclare(t, s, "routed", QueueOptions{})
	rbBind(t, s, "routed", "main", "k", nil)
	got := rbRouteAll(h, s, "main", []string{"routed", "unrouted"}, []rbMsg{{"hit", "k", nil}, {"miss", "other", nil}})
	rbCheckRoutes(t, got, map[string][]string{"routed": {"hit"}, "unrouted": {"miss"}})

	// A mandatory message routed through the AE is not returned.
	returned := false
	ch := make(chan error, 1)
	_, err := s.Publish(&Message{Exchange: "main", RoutingKey: "other", Body: []byte("m")},
		PublishOptions{Mandatory: true, Return: func() { returned = true }, Confirm: func(err error) { ch <- err }})
	must(t, err)
	must(t, <-ch)
	if returned {
		t.Fatal("returned although the alternate exchange routed it")
	}
	rbEqual(t, "unrouted", h.drain(s, "unrouted"), []string{"m"})

	// AE chains, and a cycle of AEs terminates.
	rbExchange(t, s, "ae1", KindDirect, Table{ArgAlternateExchange: "ae2"})
	rbExchange(t, s, "ae2", KindDirect, Table{ArgAlternateExchange: "ae1"})
	rbExchange(t, s, "front", KindDirect, Table{ArgAlternateExchange: "ae1"})
	rbDeclare(t, s, "last", QueueOptions{})
	rbBind(t, s, "last", "ae2", "z", nil)
	got = rbRouteAll(h, s, "front", []string{"last"}, []rbMsg{{"z", "z", nil}, {"y", "y", nil}})
	rbCheckRoutes(t, got, map[string][]string{"last": {"z"}})

	// A missing AE is ignored; declaring it later takes effect.
	rbExchange(t, s, "lonely", KindDirect, Table{ArgAlternateExchange: "later"})
	rbPublish(h, s, "lonely", "k", "lost")
	rbExchange(t, s, "later", KindFanout, nil)
	rbDeclare(t, s, "late", QueueOptions{})
	rbBind(t, s, "late", "later", "", nil)
	rbPublish(h, s, "lonely", "k", "found")
	rbEqual(t, "late", h.drain(s, "late"), []string{"found"})
}

// Mandatory: Return is called exactly when the message reaches no queue, and
// before Confirm (AMQP sends basic.return before basic.ack).
func TestExchangeMandatory(t *testing.T) {
	cases := []struct {
		name      string
		x, key    string
		mandatory bool
		want      []string // events
		confirm   Code     // expected confirm error code; 0 means none
	}{
		{"unroutable mandatory", "amq.direct", "nowhere", true, []string{"return", "confirm"}, 0},
		{"unroutable", "amq.direct", "nowhere", false, []string{"confirm"}, 0},
		{"routable mandatory", "amq.direct", "k", true, []string{"confirm"}, 0},
		{"default exchange, missing queue", "", "missing", true, []string{"return", "confirm"}, 0},
		{"default exchange, queue", "", "q", true, []string{"confirm"}, 0},
		{"queue full and rejecting", "", "full", true, []string{"confirm"}, ResourceLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			rbDeclare(t, s, "q", QueueOptions{})
			rbBind(t, s, "q", "amq.direct", "k", nil)
			rbDeclare(t, s, "full", QueueOptions{Args: Table{ArgMaxLength: int32(0), ArgOverflow: OverflowRejectPublish}})
			var mu sync.Mutex
			var events []string
			var confirmErr error
			done := make(chan struct{})
			_, err := s.Publish(&Message{Exchange: tc.x, RoutingKey: tc.key, Body: []byte("m")}, PublishOptions{
				Mandatory: tc.mandatory,
				Return: func() {
					mu.Lock()
					events = append(events, "return")
					mu.Unlock()
				},
				Confirm: func(err error) {
					mu.Lock()
					events = append(events, "confirm")
					confirmErr = err
					mu.Unlock()
					close(done)
				},
			})
			must(t, err)
			<-done
			mu.Lock()
			defer mu.Unlock()
			rbEqual(t, "events", events, tc.want)
			if tc.confirm == 0 {
				if confirmErr != nil {
					t.Fatalf("confirm error %v", confirmErr)
				}
			} else {
				rbErr(t, confirmErr, tc.confirm, "")
			}
		})
	}
}

func TestExchangeInternal(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	must(t, s.DeclareExchange("inner", ExchangeOptions{Kind: KindFanout, Internal: true}))
	rbExchange(t, s, "outer", KindFanout, nil)
	rbDeclare(t, s, "q", QueueOptions{})
	rbBind(t, s, "q", "inner", "", nil)
	must(t, s.Bind("inner", "outer", "", nil, true))
	called := false
	_, err := s.Publish(&Message{Exchange: "inner", Body: []byte("direct")},
		PublishOptions{Confirm: func(error) { called = true }})
	rbErr(t, err, AccessRefused, "cannot publish to internal exchange 'inner' in vhost '/'")
	if called {
		t.Fatal("Confirm called for a refused publish")
	}
	// Reachable through an exchange-to-exchange binding, and as an AE.
	rbPublish(h, s, "outer", "", "via-outer")
	rbExchange(t, s, "withae", KindDirect, Table{ArgAlternateExchange: "inner"})
	rbPublish(h, s, "withae", "x", "via-ae")
	rbEqual(t, "q", h.drain(s, "q"), []string{"via-outer", "via-ae"})
}

func TestExchangeDeclare(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	base := ExchangeOptions{Kind: KindDirect, Durable: true, Args: Table{ArgAlternateExchange: "ae"}}
	must(t, s.DeclareExchange("x", base))
	cases := []struct {
		name string
		o    ExchangeOptions
		code Code // 0: success
		msg  string
	}{
		{"identical", base, 0, ""},
		{"ae as bytes", ExchangeOptions{Kind: KindDirect, Durable: true, Args: Table{ArgAlternateExchange: []byte("ae")}}, 0, ""},
		{"passive with other properties", ExchangeOptions{Passive: true, Kind: KindTopic}, 0, ""},
		{"type", ExchangeOptions{Kind: KindTopic, Durable: true, Args: base.Args}, PreconditionFailed,
			"inequivalent arg 'type' for exchange 'x' in vhost '/'"},
		{"durable", ExchangeOptions{Kind: KindDirect, Args: base.Args}, PreconditionFailed, "inequivalent arg 'durable'"},
		{"auto-delete", ExchangeOptions{Kind: KindDirect, Durable: true, AutoDelete: true, Args: base.Args},
			PreconditionFailed, "inequivalent arg 'auto_delete'"},
		{"internal", ExchangeOptions{Kind: KindDirect, Durable: true, Internal: true, Args: base.Args},
			PreconditionFailed, "inequivalent arg 'internal'"},
		{"alternate exchange", ExchangeOptions{Kind: KindDirect, Durable: true, Args: Table{ArgAlternateExchange: "other"}},
			PreconditionFailed, "inequivalent arg 'alternate-exchange'"},
		{"alternate exchange missing", ExchangeOptions{Kind: KindDirect, Durable: true},
			PreconditionFailed, "inequivalent arg 'alternate-exchange'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.DeclareExchange("x", tc.o)
			if tc.code == 0 {
				must(t, err)
			} else {
				rbErr(t, err, tc.code, tc.msg)
			}
			if x := h.b.VHost("/").Exchange("x"); x == nil || x.Kind() != KindDirect {
				t.Fatal("the exchange changed")
			}
		})
	}
	t.Run("passive missing", func(t *testing.T) {
		rbErr(t, s.DeclareExchange("nope", ExchangeOptions{Passive: true}), NotFound, "no exchange 'nope' in vhost '/'")
		if h.b.VHost("/").Exchange("nope") != nil {
			t.Fatal("a passive declaration created the exchange")
		}
	})
	t.Run("invalid type", func(t *testing.T) {
		rbErr(t, s.DeclareExchange("bad", ExchangeOptions{Kind: "x-unknown"}), InvalidArgument, "invalid exchange type 'x-unknown'")
		if h.b.VHost("/").Exchange("bad") != nil {
			t.Fatal("created")
		}
	})
	t.Run("reserved prefix", func(t *testing.T) {
		rbErr(t, s.DeclareExchange("amq.mine", ExchangeOptions{Kind: KindDirect}), AccessRefused,
			"exchange name 'amq.mine' contains reserved prefix 'amq.*'")
	})
	t.Run("standard exchanges", func(t *testing.T) {
		for _, x := range []struct{ name, kind string }{{"amq.direct", KindDirect}, {"amq.fanout", KindFanout},
			{"amq.topic", KindTopic}, {"amq.headers", KindHeaders}, {"amq.match", KindHeaders}} {
			must(t, s.DeclareExchange(x.name, ExchangeOptions{Kind: x.kind, Durable: true}))
			must(t, s.DeclareExchange(x.name, ExchangeOptions{Passive: true}))
			rbErr(t, s.DeclareExchange(x.name, ExchangeOptions{Kind: x.kind}), PreconditionFailed, "inequivalent arg 'durable'")
		}
	})
}

func TestExchangeDelete(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbExchange(t, s, "x", KindFanout, nil)
	rbExchange(t, s, "down", KindFanout, nil)
	rbDeclare(t, s, "q", QueueOptions{})
	rbBind(t, s, "q", "x", "", nil)
	must(t, s.Bind("x", "down", "", nil, true)) // down → x
	rbErr(t, s.DeleteExchange("x", DeleteExchangeOptions{IfUnused: true}), PreconditionFailed,
		"exchange 'x' in vhost '/' in use")
	rbPublish(h, s, "x", "", "still-routes")
	rbEqual(t, "q", h.drain(s, "q"), []string{"still-routes"})
	must(t, s.Unbind("q", "x", "", nil, false))
	// Only bindings from the exchange make it used.
	must(t, s.DeleteExchange("x", DeleteExchangeOptions{IfUnused: true}))
	rbErr(t, s.DeclareExchange("x", ExchangeOptions{Passive: true}), NotFound, "")
	// Its bindings went with it: down routes nowhere now.
	res, err := s.Publish(&Message{Exchange: "down", Body: []byte("m")}, PublishOptions{})
	must(t, err)
	if res.Routed != 0 {
		t.Fatalf("routed to %d", res.Routed)
	}
	// Deleting a queue's source exchange leaves the queue.
	rbExchange(t, s, "y", KindFanout, nil)
	rbBind(t, s, "q", "y", "", nil)
	must(t, s.DeleteExchange("y", DeleteExchangeOptions{}))
	rbInfo(h, "q")
	rbErr(t, s.DeleteExchange("", DeleteExchangeOptions{}), AccessRefused, "")
	rbErr(t, s.DeleteExchange("amq.direct", DeleteExchangeOptions{}), AccessRefused, "")
}

// An auto-delete exchange is deleted when its last binding (as a source) is
// removed, however it is removed; not before it ever had one.
func TestExchangeAutoDelete(t *testing.T) {
	declare := func(t *testing.T, s *Session) {
		t.Helper()
		must(t, s.DeclareExchange("ad", ExchangeOptions{Kind: KindFanout, AutoDelete: true}))
	}
	exists := func(h *harness) bool { return h.b.VHost("/").Exchange("ad") != nil }
	cases := []struct {
		name   string
		remove func(h *harness, s *Session)
	}{
		{"unbind queue", func(h *harness, s *Session) { must(h.t, s.Unbind("q", "ad", "", nil, false)) }},
		{"delete queue", func(h *harness, s *Session) {
			_, err := s.DeleteQueue("q", DeleteQueueOptions{})
			must(h.t, err)
		}},
		{"exclusive queue's connection closes", nil},
		{"delete destination exchange", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.session("")
			declare(t, s)
			if !exists(h) {
				t.Fatal("deleted before it ever had a binding")
			}
			switch tc.name {
			case "exclusive queue's connection closes":
				owner := h.session("")
				rbDeclare(t, owner, "q", QueueOptions{Exclusive: true})
				rbBind(t, owner, "q", "ad", "", nil)
				owner.Connection().Close()
			case "delete destination exchange":
				rbExchange(t, s, "dst", KindFanout, nil)
				must(t, s.Bind("dst", "ad", "", nil, true))
				must(t, s.DeleteExchange("dst", DeleteExchangeOptions{}))
			default:
				rbDeclare(t, s, "q", QueueOptions{})
				rbDeclare(t, s, "q2", QueueOptions{})
				rbBind(t, s, "q", "ad", "", nil)
				rbBind(t, s, "q2", "ad", "", nil)
				must(t, s.Unbind("q2", "ad", "", nil, false))
				if !exists(h) {
					t.Fatal("deleted while a binding remains")
				}
				tc.remove(h, s)
			}
			if exists(h) {
				t.Fatal("auto-delete exchange survived its last binding")
			}
		})
	}
	t.Run("bindings to it do not count", func(t *testing.T) {
		h := newHarness(t)
		s := h.session("")
		declare(t, s)
		rbExchange(t, s, "up", KindFanout, nil)
		rbDeclare(t, s, "q", QueueOptions{})
		rbBind(t, s, "q", "ad", "", nil)
		must(t, s.Bind("ad", "up", "", nil, true)) // up → ad
		must(t, s.Unbind("ad", "up", "", nil, true))
		if !exists(h) {
			t.Fatal("deleted when a binding to it went")
		}
	})
}

func TestExchangeDefault(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbErr(t, s.Bind("q", "", "q", nil, false), AccessRefused, "operation not permitted on the default exchange")
	rbErr(t, s.Unbind("q", "", "q", nil, false), AccessRefused, "operation not permitted on the default exchange")
	rbErr(t, s.DeleteExchange("", DeleteExchangeOptions{}), AccessRefused, "operation not permitted on the default exchange")
	rbErr(t, s.DeclareExchange("", ExchangeOptions{Kind: KindDirect, Durable: true}), AccessRefused, "default exchange")
	must(t, s.DeclareExchange("", ExchangeOptions{Passive: true}))
	// It routes by queue name, to every queue, exactly by name.
	res, err := s.Publish(&Message{RoutingKey: "Q", Body: []byte("case")}, PublishOptions{})
	must(t, err)
	if res.Routed != 0 {
		t.Fatal("routed by a name of another case")
	}
	rbPublish(h, s, "", "q", "m")
	rbEqual(t, "q", h.drain(s, "q"), []string{"m"})
	// A queue bound elsewhere is still reached by name.
	rbBind(t, s, "q", "amq.direct", "other", nil)
	rbPublish(h, s, "", "q", "n")
	rbEqual(t, "q", h.drain(s, "q"), []string{"n"})
}

func TestExchangeUnbindMissing(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	rbDeclare(t, s, "q", QueueOptions{})
	rbExchange(t, s, "x", KindDirect, nil)
	must(t, s.Unbind("q", "x", "never-bound", nil, false))
	rbBind(t, s, "q", "x", "k", Table{"a": int32(1)})
	must(t, s.Unbind("q", "x", "k", Table{"a": int32(2)}, false)) // other args: another binding
	rbPublish(h, s, "x", "k", "still")
	rbEqual(t, "q", h.drain(s, "q"), []string{"still"})
	must(t, s.Unbind("q", "x", "k", Table{"a": int64(1)}, false)) // same args in another width
	must(t, s.Unbind("q", "x", "k", Table{"a": int64(1)}, false)) // twice
	rbPublish(h, s, "x", "k", "gone")
	rbEqual(t, "q", h.drain(s, "q"), nil)
	must(t, s.Unbind("x", "amq.direct", "k", nil, true))
	rbErr(t, s.Unbind("q", "missing", "k", nil, false), NotFound, "no exchange 'missing'")
	rbErr(t, s.Bind("missing", "x", "k", nil, false), NotFound, "no queue 'missing'")
}

func TestExchangePublishMissing(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	called := false
	_, err := s.Publish(&Message{Exchange: "nope", RoutingKey: "k", Body: []byte("m")},
		PublishOptions{Mandatory: true, Return: func() { called = true }, Confirm: func(error) { called = true }})
	rbErr(t, err, NotFound, "no exchange 'nope' in vhost '/'")
	if called {
		t.Fatal("Return or Confirm called for a publish that failed")
	}
}
