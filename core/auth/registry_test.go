package auth

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func newTestRegistry(t *testing.T) *Registry {
	t.Helper()
	r := NewRegistry()
	for _, u := range []User{
		{Name: "guest", PasswordHash: HashPassword("guest"), Tags: []string{"administrator"}},
		{Name: "u", PasswordHash: SHA512.Hash("pw"), Hashing: SHA512},
		{Name: "legacy", PasswordHash: MD5.Hash("old"), Hashing: MD5},
		{Name: "nopass"},
	} {
		if err := r.PutUser(u); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestPutUserValidates(t *testing.T) {
	r := NewRegistry()
	for _, u := range []User{{}, {Name: "x", Hashing: "rabbit_password_hashing_argon2"}} {
		if err := r.PutUser(u); !errors.Is(err, ErrInvalidUser) {
			t.Errorf("PutUser(%+v) = %v, want ErrInvalidUser", u, err)
		}
	}
}

func TestUsersAreCopies(t *testing.T) {
	r := newTestRegistry(t)
	u, ok := r.User("guest")
	if !ok || !u.HasTag("administrator") || u.HasTag("monitoring") {
		t.Fatalf("User(guest) = %+v, %v", u, ok)
	}
	u.Tags[0] = "changed"
	if u2, _ := r.User("guest"); u2.Tags[0] != "administrator" {
		t.Fatal("changing a returned user changed the registry")
	}
	var names []string
	for _, u := range r.Users() {
		names = append(names, u.Name)
	}
	if want := []string{"guest", "legacy", "nopass", "u"}; !slices.Equal(names, want) {
		t.Fatalf("Users() = %v, want %v", names, want)
	}
	if _, ok := r.User("nobody"); ok {
		t.Fatal("User(nobody) found")
	}
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name     string
		loopback []string // nil: the default
		user, pw string
		local    bool
		wantErr  error
		wantMsg  string
	}{
		{name: "guest local", user: "guest", pw: "guest", local: true},
		{name: "guest remote", user: "guest", pw: "guest", wantErr: ErrLoopbackOnly,
			wantMsg: "user 'guest' can only connect via localhost"},
		{name: "guest remote wrong password", user: "guest", pw: "nope", wantErr: ErrBadCredentials,
			wantMsg: "user 'guest' - invalid credentials"},
		{name: "other user remote", user: "u", pw: "pw"},
		{name: "md5 user", user: "legacy", pw: "old"},
		{name: "wrong password", user: "u", pw: "PW", wantErr: ErrBadCredentials,
			wantMsg: "user 'u' - invalid credentials"},
		{name: "unknown user", user: "x", pw: "pw", wantErr: ErrBadCredentials,
			wantMsg: "user 'x' - invalid credentials"},
		{name: "blank password", user: "u", pw: "", local: true, wantErr: ErrBadCredentials},
		{name: "passwordless user", user: "nopass", pw: "anything", local: true, wantErr: ErrBadCredentials},
		{name: "loopback none", loopback: []string{}, user: "guest", pw: "guest"},
		{name: "custom loopback list", loopback: []string{"u"}, user: "u", pw: "pw", wantErr: ErrLoopbackOnly},
		{name: "custom list frees guest", loopback: []string{"u"}, user: "guest", pw: "guest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t)
			if tt.loopback != nil {
				r.SetLoopbackUsers(tt.loopback)
			}
			u, err := r.Authenticate(tt.user, tt.pw, tt.local)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Fatalf("message %q, want %q", err, tt.wantMsg)
			}
			if err == nil && (u == nil || u.Name != tt.user) {
				t.Fatalf("user = %+v", u)
			}
		})
	}
}

func TestLoopbackUsersDefault(t *testing.T) {
	r := NewRegistry()
	if got := r.LoopbackUsers(); !slices.Equal(got, []string{"guest"}) {
		t.Fatalf("LoopbackUsers() = %v", got)
	}
}

func TestSetPermissionErrors(t *testing.T) {
	r := newTestRegistry(t)
	if err := r.SetPermission("nobody", "/", Permission{".*", ".*", ".*"}); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("unknown user: %v", err)
	}
	if err := r.SetPermission("u", "/", Permission{"(", ".*", ".*"}); !errors.Is(err, ErrInvalidRegexp) {
		t.Errorf("invalid regexp: %v", err)
	}
	if _, ok := r.Permission("u", "/"); ok {
		t.Error("a refused SetPermission stored something")
	}
	if err := r.SetTopicPermission("nobody", "/", TopicPermission{"amq.topic", ".*", ".*"}); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("topic unknown user: %v", err)
	}
	if err := r.SetTopicPermission("u", "/", TopicPermission{"amq.topic", "[", ".*"}); !errors.Is(err, ErrInvalidRegexp) {
		t.Errorf("topic invalid regexp: %v", err)
	}
}

func TestCheckVHost(t *testing.T) {
	r := newTestRegistry(t)
	err := r.CheckVHost("u", "/x")
	var d *Denied
	if !errors.As(err, &d) || d.Msg != "access to vhost '/x' refused for user 'u'" {
		t.Fatalf("CheckVHost = %v", err)
	}
	// Any entry grants the vhost, even one that allows nothing.
	if err := r.SetPermission("u", "/x", Permission{}); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckVHost("u", "/x"); err != nil {
		t.Fatalf("CheckVHost after grant: %v", err)
	}
	r.ClearPermission("u", "/x")
	if err := r.CheckVHost("u", "/x"); err == nil {
		t.Fatal("CheckVHost after clear: nil")
	}
}

func TestCheckResource(t *testing.T) {
	r := newTestRegistry(t)
	if err := r.SetPermission("u", "/", Permission{
		Configure: `^(amq\.gen.*|own-.*)$`,
		Write:     `^(amq\.default|out|own-.*)$`,
		Read:      `in`,
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		perm    Kind
		typ     ResourceType
		name    string
		vhost   string
		wantMsg string // "" when allowed
	}{
		{Configure, Queue, "own-q", "/", ""},
		{Configure, Queue, "amq.gen-abc", "/", ""},
		{Configure, Queue, "q", "/", "configure access to queue 'q' in vhost '/' refused for user 'u'"},
		{Write, Exchange, "out", "/", ""},
		{Write, Exchange, "outx", "/", "write access to exchange 'outx' in vhost '/' refused for user 'u'"},
		// The default exchange is checked, and reported, as amq.default.
		{Write, Exchange, "", "/", ""},
		{Read, Exchange, "", "/", "read access to exchange 'amq.default' in vhost '/' refused for user 'u'"},
		{Configure, Exchange, "", "/", "configure access to exchange 'amq.default' in vhost '/' refused for user 'u'"},
		// Only exchanges are renamed.
		{Write, Queue, "", "/", "write access to queue '' in vhost '/' refused for user 'u'"},
		// Read is unanchored.
		{Read, Queue, "inbox", "/", ""},
		{Read, Queue, "main", "/", ""},
		{Read, Queue, "out", "/", "read access to queue 'out' in vhost '/' refused for user 'u'"},
		// No entry in the vhost refuses everything.
		{Read, Queue, "in", "/other", "read access to queue 'in' in vhost '/other' refused for user 'u'"},
	}
	for _, tt := range tests {
		err := r.CheckResource("u", tt.vhost, tt.perm, tt.typ, tt.name)
		if tt.wantMsg == "" {
			if err != nil {
				t.Errorf("%v %v %q: %v", tt.perm, tt.typ, tt.name, err)
			}
			continue
		}
		var d *Denied
		if !errors.As(err, &d) || d.Msg != tt.wantMsg {
			t.Errorf("%v %v %q: err = %v, want %q", tt.perm, tt.typ, tt.name, err, tt.wantMsg)
		}
	}
	if err := r.CheckResource("nobody", "/", Read, Queue, "in"); err == nil {
		t.Error("unknown user allowed")
	}
}

func TestCheckTopic(t *testing.T) {
	r := newTestRegistry(t)
	// Without a topic permission every routing key is allowed.
	if err := r.CheckTopic("u", "/", "amq.topic", "any.key", Write, nil); err != nil {
		t.Fatalf("no topic permission: %v", err)
	}
	if err := r.SetTopicPermission("u", "/", TopicPermission{
		Exchange: "amq.topic",
		Write:    `^{username}\.{client_id}\.`,
		Read:     `^{vhost}\|`,
	}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"client_id": "d1", "username": "molly", "vhost": "/evil"}
	tests := []struct {
		exchange, key string
		perm          Kind
		wantMsg       string
	}{
		{"amq.topic", "u.d1.temp", Write, ""},
		// username and vhost come from the call, not from vars.
		{"amq.topic", "molly.d1.temp", Write, "write access to topic 'molly.d1.temp' in exchange 'amq.topic' in vhost '/' refused for user 'u'"},
		{"amq.topic", "u.d2.temp", Write, "write access to topic 'u.d2.temp' in exchange 'amq.topic' in vhost '/' refused for user 'u'"},
		{"amq.topic", "/|x", Read, ""},
		{"amq.topic", "/evil|x", Read, "read access to topic '/evil|x' in exchange 'amq.topic' in vhost '/' refused for user 'u'"},
		// Other exchanges have no topic permission.
		{"other", "anything", Write, ""},
	}
	for _, tt := range tests {
		err := r.CheckTopic("u", "/", tt.exchange, tt.key, tt.perm, vars)
		if tt.wantMsg == "" {
			if err != nil {
				t.Errorf("%s %q: %v", tt.exchange, tt.key, err)
			}
			continue
		}
		var d *Denied
		if !errors.As(err, &d) || d.Msg != tt.wantMsg {
			t.Errorf("%s %q: err = %v, want %q", tt.exchange, tt.key, err, tt.wantMsg)
		}
	}
	r.ClearTopicPermission("u", "/", "amq.topic")
	if err := r.CheckTopic("u", "/", "amq.topic", "molly.x", Write, vars); err != nil {
		t.Fatalf("after clear: %v", err)
	}
	if _, ok := r.TopicPermission("u", "/", "amq.topic"); ok {
		t.Fatal("TopicPermission after clear")
	}
}

func TestDeleteUserRemovesPermissions(t *testing.T) {
	r := newTestRegistry(t)
	mustSet(t, r, "u", "/")
	if err := r.SetTopicPermission("u", "/", TopicPermission{"amq.topic", "^$", "^$"}); err != nil {
		t.Fatal(err)
	}
	if !r.DeleteUser("u") || r.DeleteUser("u") {
		t.Fatal("DeleteUser did not report existence")
	}
	if err := r.PutUser(User{Name: "u", PasswordHash: HashPassword("pw")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Permission("u", "/"); ok {
		t.Fatal("permission survived the user")
	}
	if _, ok := r.TopicPermission("u", "/", "amq.topic"); ok {
		t.Fatal("topic permission survived the user")
	}
}

func TestDeleteVHost(t *testing.T) {
	r := newTestRegistry(t)
	mustSet(t, r, "u", "/a")
	mustSet(t, r, "u", "/b")
	if err := r.SetTopicPermission("u", "/a", TopicPermission{"amq.topic", ".*", ".*"}); err != nil {
		t.Fatal(err)
	}
	r.DeleteVHost("/a")
	if _, ok := r.Permission("u", "/a"); ok {
		t.Fatal("permission on deleted vhost")
	}
	if _, ok := r.TopicPermission("u", "/a", "amq.topic"); ok {
		t.Fatal("topic permission on deleted vhost")
	}
	if _, ok := r.Permission("u", "/b"); !ok {
		t.Fatal("other vhost lost its permission")
	}
}

func TestListings(t *testing.T) {
	r := newTestRegistry(t)
	mustSet(t, r, "u", "/b")
	mustSet(t, r, "u", "/a")
	mustSet(t, r, "guest", "/")
	for _, x := range []string{"x2", "x1"} {
		if err := r.SetTopicPermission("u", "/", TopicPermission{x, ".*", ""}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, g := range r.Permissions() {
		got = append(got, g.User+" "+g.VHost+" "+g.Configure)
	}
	if want := []string{"guest / .*", "u /a .*", "u /b .*"}; !slices.Equal(got, want) {
		t.Fatalf("Permissions() = %q, want %q", got, want)
	}
	got = nil
	for _, g := range r.TopicPermissions() {
		got = append(got, g.User+" "+g.VHost+" "+g.Exchange)
	}
	if want := []string{"u / x1", "u / x2"}; !slices.Equal(got, want) {
		t.Fatalf("TopicPermissions() = %q, want %q", got, want)
	}
}

func mustSet(t *testing.T, r *Registry, user, vhost string) {
	t.Helper()
	if err := r.SetPermission(user, vhost, Permission{".*", ".*", ".*"}); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryConcurrent runs writers and checkers together; -race reports
// unsynchronised access.
func TestRegistryConcurrent(t *testing.T) {
	r := newTestRegistry(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 300 {
				name := fmt.Sprint("w", w, "-", i%10)
				_ = r.PutUser(User{Name: name, PasswordHash: HashPassword("pw")})
				_ = r.SetPermission(name, "/", Permission{"^own", ".*", ""})
				_ = r.SetTopicPermission(name, "/", TopicPermission{"amq.topic", "^{username}\\.", ".*"})
				if i%3 == 0 {
					r.ClearPermission(name, "/")
					r.ClearTopicPermission(name, "/", "amq.topic")
				}
				if i%7 == 0 {
					r.DeleteUser(name)
				}
				if i%50 == 0 {
					r.SetLoopbackUsers([]string{"guest", name})
					r.DeleteVHost("/gone")
				}
			}
		})
	}
	for c := range 8 {
		wg.Go(func() {
			for i := range 300 {
				name := fmt.Sprint("w", c%4, "-", i%10)
				_ = r.CheckVHost(name, "/")
				_ = r.CheckResource(name, "/", Configure, Queue, "own-q")
				_ = r.CheckTopic(name, "/", "amq.topic", name+".x", Write, map[string]string{"client_id": "c"})
				_, _ = r.Authenticate(name, "pw", c%2 == 0)
				_ = r.Users()
				_ = r.Permissions()
				_ = r.TopicPermissions()
				_ = r.LoopbackUsers()
			}
		})
	}
	wg.Wait()
}

// The hot-path checks must not allocate when they allow.
func TestChecksDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful with -short")
	}
	r := newTestRegistry(t)
	if err := r.SetPermission("u", "/", Permission{".*", `^(amq\.gen.*|orders\..*)$`, "in"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTopicPermission("u", "/", TopicPermission{"amq.topic", `^sensors\.`, `^{username}\.{client_id}\.`}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"client_id": "d1"}
	for name, f := range map[string]func(){
		"vhost":          func() { _ = r.CheckVHost("u", "/") },
		"resource all":   func() { _ = r.CheckResource("u", "/", Configure, Queue, "q") },
		"resource regex": func() { _ = r.CheckResource("u", "/", Write, Exchange, "orders.eu") },
		"topic none":     func() { _ = r.CheckTopic("u", "/", "other", "a.b", Write, nil) },
		"topic static":   func() { _ = r.CheckTopic("u", "/", "amq.topic", "sensors.t", Write, nil) },
		"topic expanded": func() { _ = r.CheckTopic("u", "/", "amq.topic", "u.d1.t", Read, vars) },
	} {
		f() // warm the expansion cache and regexp machine pools
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per check", name, n)
		}
	}
}
