package core

import (
	"context"
	"net"
	"testing"

	"github.com/mqgate/mqgate/core/store"
)

// Permission checks as core makes them; core/auth owns the regexes. Refusals
// are AccessRefused with RabbitMQ's wording.

// permUser creates user u (password "pw") with the given permissions on "/".
func permUser(t *testing.T, h *harness, configure, write, read string) *Session {
	t.Helper()
	must(t, h.b.PutUser("u", "pw", nil))
	must(t, h.b.SetPermissions("u", "/", configure, write, read))
	return h.session("u")
}

// wantRefused checks that err is AccessRefused with RabbitMQ's message.
func wantRefused(t *testing.T, err error, msg string) {
	t.Helper()
	wantCode(t, err, AccessRefused)
	if want := "ACCESS_REFUSED - " + msg; err.Error() != want {
		t.Fatalf("err = %q\nwant  %q", err.Error(), want)
	}
}

// permFixture is what the permission cases act on, declared by guest.
func permFixture(t *testing.T, h *harness) {
	t.Helper()
	admin := h.session("")
	declareQ(t, admin, "q", QueueOptions{})
	must(t, admin.DeclareExchange("x", ExchangeOptions{Kind: KindDirect}))
	must(t, admin.DeclareExchange("x2", ExchangeOptions{Kind: KindFanout}))
	must(t, admin.Bind("q", "x", "k", nil, false))
	declareQ(t, admin, "dq", QueueOptions{Args: Table{ArgDLX: "x"}})
	must(t, admin.DeclareExchange("ae", ExchangeOptions{Kind: KindDirect, Args: Table{ArgAlternateExchange: "x"}}))
	must(t, h.publish(admin, "", "q", "m", Properties{}))
}

func TestPermResources(t *testing.T) {
	const all = ".*"
	type op func(s *Session) error
	declareQueue := func(name string, args Table) op {
		return func(s *Session) error { _, err := s.DeclareQueue(name, QueueOptions{Args: args}); return err }
	}
	declareExchange := func(name string, args Table) op {
		return func(s *Session) error {
			return s.DeclareExchange(name, ExchangeOptions{Kind: KindDirect, Args: args})
		}
	}
	publish := func(x, rk string) op {
		return func(s *Session) error {
			_, err := s.Publish(&Message{Exchange: x, RoutingKey: rk, Body: []byte("p")}, PublishOptions{})
			return err
		}
	}
	get := func(s *Session) error { _, err := s.Get(context.Background(), "q", GetOptions{}); return err }
	consume := func(s *Session) error { _, err := s.Consume("q", ConsumeOptions{}, newSink()); return err }
	refused := func(perm, typ, name string) string {
		return perm + " access to " + typ + " '" + name + "' in vhost '/' refused for user 'u'"
	}
	tests := []struct {
		name                   string
		configure, write, read string
		op                     op
		refused                string // "" when allowed
	}{
		{"declare queue outside configure", "^a", all, all, declareQueue("b", nil), refused("configure", "queue", "b")},
		{"declare queue inside configure", "^a", "", "", declareQueue("a1", nil), ""},
		{"declare queue without read for its DLX", "^a", all, "", declareQueue("a1", Table{ArgDLX: "x"}),
			refused("read", "queue", "a1")},
		{"declare queue without write on its DLX", "^a", "", all, declareQueue("a1", Table{ArgDLX: "x"}),
			refused("write", "exchange", "x")},
		{"declare queue with DLX", "^a", "^x$", "^a", declareQueue("a1", Table{ArgDLX: "x"}), ""},
		// rabbit_channel.erl checks a DLX's or AE's permissions only when the
		// declare creates the resource.
		{"redeclare existing queue with DLX needs configure only", all, "", "", declareQueue("dq", Table{ArgDLX: "x"}), ""},
		{"redeclare existing exchange with AE needs configure only", all, "", "",
			declareExchange("ae", Table{ArgAlternateExchange: "x"}), ""},
		{"redeclare existing queue outside configure", "^a", all, all, declareQueue("q", nil),
			refused("configure", "queue", "q")},
		{"passive declare needs nothing", "", "", "", func(s *Session) error {
			_, err := s.DeclareQueue("q", QueueOptions{Passive: true})
			return err
		}, ""},
		{"delete queue", "^a", all, all, func(s *Session) error {
			_, err := s.DeleteQueue("q", DeleteQueueOptions{})
			return err
		}, refused("configure", "queue", "q")},
		{"declare exchange outside configure", "^a", all, all, declareExchange("b", nil),
			refused("configure", "exchange", "b")},
		{"declare exchange inside configure", "^a", "", "", declareExchange("ax", nil), ""},
		{"declare exchange with AE without read", "^a", all, "", declareExchange("ax", Table{ArgAlternateExchange: "x"}),
			refused("read", "exchange", "ax")},
		{"declare exchange with AE without write on it", "^a", "^a", all,
			declareExchange("ax", Table{ArgAlternateExchange: "x"}), refused("write", "exchange", "x")},
		{"delete exchange", "^a", all, all, func(s *Session) error {
			return s.DeleteExchange("x", DeleteExchangeOptions{})
		}, refused("configure", "exchange", "x")},
		{"publish denied", all, "^y", all, publish("x", "k"), refused("write", "exchange", "x")},
		{"publish allowed", "", "^x$", "", publish("x", "k"), ""},
		{"publish to the default exchange is amq.default", all, "^q$", all, publish("", "q"),
			refused("write", "exchange", "amq.default")},
		{"publish to the default exchange allowed", "", `^amq\.default$`, "", publish("", "q"), ""},
		{"get denied", all, all, "^r", get, refused("read", "queue", "q")},
		{"get allowed", "", "", "^q$", get, ""},
		{"consume denied", all, all, "^r", consume, refused("read", "queue", "q")},
		{"consume allowed", "", "", "^q$", consume, ""},
		{"purge denied", all, all, "^r", func(s *Session) error { _, err := s.Purge("q"); return err },
			refused("read", "queue", "q")},
		{"bind without write on the queue", all, "^x", all, func(s *Session) error {
			return s.Bind("q", "x", "k2", nil, false)
		}, refused("write", "queue", "q")},
		{"bind without read on the exchange", all, all, "^q", func(s *Session) error {
			return s.Bind("q", "x", "k2", nil, false)
		}, refused("read", "exchange", "x")},
		{"bind with write on queue and read on exchange", "", "^q$", "^x$", func(s *Session) error {
			return s.Bind("q", "x", "k2", nil, false)
		}, ""},
		{"unbind without write on the queue", all, "^x", all, func(s *Session) error {
			return s.Unbind("q", "x", "k", nil, false)
		}, refused("write", "queue", "q")},
		{"exchange bind without write on the destination", all, "^q", all, func(s *Session) error {
			return s.Bind("x2", "x", "k", nil, true)
		}, refused("write", "exchange", "x2")},
		{"exchange bind without read on the source", all, all, "^x2", func(s *Session) error {
			return s.Bind("x2", "x", "k", nil, true)
		}, refused("read", "exchange", "x")},
		{"exchange bind allowed", "", "^x2$", "^x$", func(s *Session) error {
			return s.Bind("x2", "x", "k", nil, true)
		}, ""},
		{"no permissions at all", "", "", "", get, refused("read", "queue", "q")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			permFixture(t, h)
			s := permUser(t, h, tt.configure, tt.write, tt.read)
			err := tt.op(s)
			if tt.refused == "" {
				must(t, err)
				return
			}
			wantRefused(t, err, tt.refused)
		})
	}
}

// TestPermRefusalChangesNothing: a refused operation leaves no trace.
func TestPermRefusalChangesNothing(t *testing.T) {
	h := newHarness(t)
	permFixture(t, h)
	s := permUser(t, h, "^ab", "^ab", "^ab")
	vh := h.b.VHost("/")
	_, err := s.DeclareQueue("b", QueueOptions{})
	wantCode(t, err, AccessRefused)
	if vh.Queue("b") != nil {
		t.Fatal("refused declare created the queue")
	}
	_, err = s.Publish(&Message{Exchange: "", RoutingKey: "q", Body: []byte("p")}, PublishOptions{})
	wantCode(t, err, AccessRefused)
	_, err = s.Get(context.Background(), "q", GetOptions{})
	wantCode(t, err, AccessRefused)
	wantCode(t, s.Bind("q", "x", "k2", nil, false), AccessRefused)
	_, err = s.DeleteQueue("q", DeleteQueueOptions{})
	wantCode(t, err, AccessRefused)
	wantInfo(t, vh.Queue("q"), 1, 0, 0)
	if n := len(vh.Exchange("x").bindings); n != 1 {
		t.Fatalf("exchange x has %d bindings after a refused bind", n)
	}
}

// TestPermChangeTakesEffect: permissions are checked per operation, so a
// change applies to open connections at once.
func TestPermChangeTakesEffect(t *testing.T) {
	h := newHarness(t)
	permFixture(t, h)
	s := permUser(t, h, "", "", ".*")
	_, err := s.Get(context.Background(), "q", GetOptions{})
	must(t, err)
	must(t, h.b.SetPermissions("u", "/", "", "", "^none$"))
	_, err = s.Get(context.Background(), "q", GetOptions{})
	wantCode(t, err, AccessRefused)
}

func TestPermTopic(t *testing.T) {
	refusedTopic := func(perm, key string) string {
		return perm + " access to topic '" + key + "' in exchange 'amq.topic' in vhost '/' refused for user 'u'"
	}
	tests := []struct {
		name         string
		write, read  string // topic permission patterns on amq.topic
		clientID     string
		publishKey   string
		publishError string
		bindKey      string
		bindError    string
	}{
		{"allowed keys", `^a\.`, `^b\.`, "", "a.x", "", "b.#", ""},
		{"publish key refused", `^a\.`, `^b\.`, "", "c.x", refusedTopic("write", "c.x"), "b.*", ""},
		{"bind key refused", `^a\.`, `^b\.`, "", "a.y", "", "a.#", refusedTopic("read", "a.#")},
		{"client_id variable", `^dev\.{client_id}\.`, `^dev\.{client_id}\.`, "c1", "dev.c1.t", "", "dev.c1.#", ""},
		{"client_id variable refuses others", `^dev\.{client_id}\.`, `^dev\.{client_id}\.`, "c1",
			"dev.c2.t", refusedTopic("write", "dev.c2.t"), "dev.c2.#", refusedTopic("read", "dev.c2.#")},
		{"username variable", `^u\.{username}\.`, `^u\.{username}\.`, "", "u.u.x", "", "u.other.x",
			refusedTopic("read", "u.other.x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			admin := h.session("")
			declareQ(t, admin, "q", QueueOptions{})
			must(t, h.b.PutUser("u", "pw", nil))
			must(t, h.b.SetPermissions("u", "/", ".*", ".*", ".*"))
			must(t, h.b.SetTopicPermissions("u", "/", "amq.topic", tt.write, tt.read))
			c, err := h.b.Connect("u", "/", ConnectOptions{ClientID: tt.clientID})
			must(t, err)
			t.Cleanup(c.Close)
			s, err := c.OpenSession()
			must(t, err)

			_, err = s.Publish(&Message{Exchange: "amq.topic", RoutingKey: tt.publishKey, Body: []byte("p")},
				PublishOptions{})
			if tt.publishError == "" {
				must(t, err)
			} else {
				wantRefused(t, err, tt.publishError)
			}
			err = s.Bind("q", "amq.topic", tt.bindKey, nil, false)
			if tt.bindError == "" {
				must(t, err)
			} else {
				wantRefused(t, err, tt.bindError)
				if n := len(h.b.VHost("/").Exchange("amq.topic").bindings); n != 0 {
					t.Fatalf("refused bind left %d bindings", n)
				}
			}
			// Topic permissions apply to topic exchanges only.
			_, err = s.Publish(&Message{Exchange: "amq.direct", RoutingKey: "zzz", Body: []byte("p")}, PublishOptions{})
			must(t, err)
			must(t, s.Bind("q", "amq.direct", "zzz", nil, false))
		})
	}
}

// TestPermTopicOtherExchange: a topic permission names one exchange; other
// topic exchanges are unrestricted.
func TestPermTopicOtherExchange(t *testing.T) {
	h := newHarness(t)
	admin := h.session("")
	must(t, admin.DeclareExchange("events", ExchangeOptions{Kind: KindTopic}))
	s := permUser(t, h, ".*", ".*", ".*")
	must(t, h.b.SetTopicPermissions("u", "/", "amq.topic", "^none$", "^none$"))
	_, err := s.Publish(&Message{Exchange: "events", RoutingKey: "any.key", Body: []byte("p")}, PublishOptions{})
	must(t, err)
	_, err = s.Publish(&Message{Exchange: "amq.topic", RoutingKey: "any.key", Body: []byte("p")}, PublishOptions{})
	wantCode(t, err, AccessRefused)
}

func TestPermVHostAccess(t *testing.T) {
	h := newHarness(t)
	must(t, h.b.AddVHost("other"))
	must(t, h.b.PutUser("u", "pw", nil))
	must(t, h.b.SetPermissions("u", "other", ".*", ".*", ".*"))

	_, err := h.b.Connect("u", "/", ConnectOptions{})
	wantRefused(t, err, "access to vhost '/' refused for user 'u'")
	c, err := h.b.Connect("u", "other", ConnectOptions{})
	must(t, err)
	c.Close()
	_, err = h.b.Connect("u", "missing", ConnectOptions{})
	wantCode(t, err, AccessRefused)
	_, err = h.b.Connect("nobody", "/", ConnectOptions{})
	wantCode(t, err, AccessRefused)
	// Empty patterns still grant access to the vhost, as in RabbitMQ.
	must(t, h.b.SetPermissions("u", "/", "", "", ""))
	c, err = h.b.Connect("u", "/", ConnectOptions{})
	must(t, err)
	c.Close()
	// Deleting the user revokes everything.
	must(t, h.b.DeleteUser("u"))
	_, err = h.b.Connect("u", "other", ConnectOptions{})
	wantCode(t, err, AccessRefused)
}

func TestPermAuthenticate(t *testing.T) {
	loopback := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}
	remote := &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 5000}
	tests := []struct {
		name     string
		loopback []string // Config.LoopbackUsers
		user, pw string
		addr     net.Addr
		refused  string // "" when accepted
	}{
		{"user from anywhere", nil, "u", "pw", remote, ""},
		{"bad password", nil, "u", "bad", loopback, "user 'u' - invalid credentials"},
		{"blank password", nil, "u", "", loopback, "user 'u' attempted to log in with a blank password: invalid credentials"},
		{"unknown user", nil, "nobody", "pw", loopback, "user 'nobody' - invalid credentials"},
		{"guest from loopback", nil, "guest", "guest", loopback, ""},
		{"guest from IPv6 loopback", nil, "guest", "guest", &net.TCPAddr{IP: net.IPv6loopback}, ""},
		{"guest from a unix socket", nil, "guest", "guest", &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, ""},
		{"guest from elsewhere", nil, "guest", "guest", remote, "user 'guest' can only connect via localhost"},
		{"guest with no address", nil, "guest", "guest", nil, "user 'guest' can only connect via localhost"},
		{"guest bad password from elsewhere", nil, "guest", "bad", remote, "user 'guest' - invalid credentials"},
		{"loopback_users none", []string{}, "guest", "guest", remote, ""},
		{"loopback_users lists u", []string{"u"}, "u", "pw", remote, "user 'u' can only connect via localhost"},
		{"loopback_users lists u, guest free", []string{"u"}, "guest", "guest", remote, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessStore(t, store.NewMemory(), Config{LoopbackUsers: tt.loopback})
			must(t, h.b.PutUser("u", "pw", nil))
			err := h.b.Authenticate(tt.user, tt.pw, tt.addr)
			if tt.refused == "" {
				must(t, err)
				return
			}
			wantRefused(t, err, tt.refused)
		})
	}
}
