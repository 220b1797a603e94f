package auth

import (
	"fmt"
	"sync"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"client_id": "dev-1", "username": "spoof", "vhost": "spoof"}
	tests := []struct {
		src, want string
		changed   bool
	}{
		{"^{username}-.*", `^tonyg-.*`, true}, // the example in docs/access-control.md
		{"{vhost}/{username}/{client_id}", `/prod/tonyg/dev-1`, true},
		{"{username}{username}", "tonygtonyg", true},
		{"{unknown}", "{unknown}", false},
		{"{", "{", false},
		{"}", "}", false},
		{"{username", "{username", false},
		{"{{username}}", "{tonyg}", true},
		{"a{2}", "a{2}", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, changed := appendExpanded(nil, tt.src, "tonyg", "/prod", vars)
		if string(got) != tt.want || changed != tt.changed {
			t.Errorf("expand %q = %q, %v; want %q, %v", tt.src, got, changed, tt.want, tt.changed)
		}
	}
}

// Values are escaped (rabbitmq-server PR #15442): a client id of ".*" must not
// widen a "{client_id}" pattern, and a value is not expanded again.
func TestExpandEscapes(t *testing.T) {
	tests := []struct {
		user, client, want string
	}{
		{"a.b", "x", `a\.b/x`},
		{"u", ".*", `u/\.\*`},
		{"u", "{username}", `u/\{username\}`},
		{"u", `\`, `u/\\`},
		{"u", "^$|()[]+?", `u/\^\$\|\(\)\[\]\+\?`},
	}
	for _, tt := range tests {
		got, _ := appendExpanded(nil, "{username}/{client_id}", tt.user, "/", map[string]string{"client_id": tt.client})
		if string(got) != tt.want {
			t.Errorf("expand(%q, %q) = %q, want %q", tt.user, tt.client, got, tt.want)
		}
	}
}

func TestTopicAllows(t *testing.T) {
	tests := []struct {
		name        string
		write, read string
		k           Kind
		key         string
		user        string
		vars        map[string]string
		want        bool
	}{
		{"static write", "^a\\.", "", Write, "a.b", "u", nil, true},
		{"static write refused", "^a\\.", "", Write, "b.a", "u", nil, false},
		{"empty read is ^$", ".*", "", Read, "a", "u", nil, false},
		{"empty read allows empty key", ".*", "", Read, "", "u", nil, true},
		{"unanchored", "sensor", ".*", Write, "x.sensor.y", "u", nil, true},
		{"username", "^{username}\\.", "", Write, "tonyg.temp", "tonyg", nil, true},
		{"username other", "^{username}\\.", "", Write, "molly.temp", "tonyg", nil, false},
		{"vhost", "^{vhost}$", "", Write, "/", "u", nil, true},
		{"client id", "^devices\\.{client_id}\\.", "", Write, "devices.d1.t", "u", map[string]string{"client_id": "d1"}, true},
		{"client id other", "^devices\\.{client_id}\\.", "", Write, "devices.d2.t", "u", map[string]string{"client_id": "d1"}, false},
		{"client id regex is literal", "^devices\\.{client_id}$", "", Write, "devices.anything", "u", map[string]string{"client_id": ".*"}, false},
		{"client id regex matches itself", "^devices\\.{client_id}$", "", Write, "devices..*", "u", map[string]string{"client_id": ".*"}, true},
		{"username dot is literal", "^{username}$", "", Write, "axb", "a.b", nil, false},
		{"missing variable stays literal", "^{client_id}$", "", Write, "{client_id}", "u", nil, true},
		{"missing variable refuses", "^{client_id}$", "", Write, "d1", "u", nil, false},
		{"read side", "", "^{username}\\.#?", Read, "tonyg.#", "tonyg", nil, true},
		{"configure never", ".*", ".*", Configure, "a", "u", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := TopicPermission{Exchange: "amq.topic", Write: tt.write, Read: tt.read}.Compile()
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the second match comes from the expansion cache.
			for range 2 {
				if got := c.Allows(tt.k, tt.key, tt.user, "/", tt.vars); got != tt.want {
					t.Fatalf("Allows(%v, %q) = %v, want %v", tt.k, tt.key, got, tt.want)
				}
			}
		})
	}
}

func TestTopicExpansionCacheBounded(t *testing.T) {
	c, err := TopicPermission{Exchange: "amq.topic", Write: "^{username}$"}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxExpanded * 2 {
		u := fmt.Sprint("u", i)
		if !c.Allows(Write, u, u, "/", nil) {
			t.Fatalf("user %s refused", u)
		}
	}
	p := c.patterns[0]
	p.mu.RLock()
	n := len(p.expanded)
	p.mu.RUnlock()
	if n == 0 || n > maxExpanded {
		t.Fatalf("cache holds %d entries, want 1..%d", n, maxExpanded)
	}
}

func TestTopicConcurrent(t *testing.T) {
	c, err := TopicPermission{Exchange: "amq.topic", Write: "^{client_id}\\."}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprint("c", (g*500+i)%1500)
				vars := map[string]string{"client_id": id}
				if !c.Allows(Write, id+".t", "u", "/", vars) || c.Allows(Write, "z"+id+".t", "u", "/", vars) {
					t.Errorf("wrong answer for %s", id)
					return
				}
			}
		})
	}
	wg.Wait()
}
