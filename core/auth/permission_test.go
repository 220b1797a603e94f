package auth

import (
	"errors"
	"testing"
)

// TestPatternMatch pins RabbitMQ's matching: re:run(Name, RE, [{capture,
// none}]) is an unanchored search, and "" means "^$".
func TestPatternMatch(t *testing.T) {
	tests := []struct {
		re, name string
		want     bool
	}{
		{".*", "anything", true},
		{".*", "", true},
		{".*", "line\nbreak", true},
		{"", "", true}, // "" is "^$": only the empty name
		{"", "q", false},
		{"^$", "", true},
		{"^$", "q", false},
		// Unanchored: a pattern matches anywhere in the name.
		{"foo", "foo", true},
		{"foo", "xfoox", true},
		{"foo", "fo", false},
		{"^foo", "foox", true},
		{"^foo", "xfoo", false},
		{"foo$", "xfoo", true},
		{"foo$", "foox", false},
		{"^foo$", "foo", true},
		{"^foo$", "foo1", false},
		// The documented example: server-named resources and the default exchange.
		{`^(amq\.gen.*|amq\.default)$`, "amq.gen-JzTY20BRgKO-HjmUJj0wLg", true},
		{`^(amq\.gen.*|amq\.default)$`, "amq.default", true},
		{`^(amq\.gen.*|amq\.default)$`, "amq.defaultx", false},
		{`^(amq\.gen.*|amq\.default)$`, "orders", false},
		// An unescaped dot matches any character.
		{"^a.b$", "axb", true},
		{`^a\.b$`, "axb", false},
		// Alternation without a group is unanchored on one side.
		{"^a|b$", "xxa", false},
		{"^a|b$", "ab", true},
		{"^a|b$", "xb", true},
		// Case-sensitive unless the pattern says otherwise.
		{"^Orders$", "orders", false},
		{"(?i)^Orders$", "orders", true},
		// Character classes, repetition, a '-' in names.
		{`^user-[0-9]+\.in$`, "user-42.in", true},
		{`^user-[0-9]+\.in$`, "user-x.in", false},
		// "{...}" that is not a repetition is a literal, as in PCRE.
		{"^{username}$", "{username}", true},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.re)
		if err != nil {
			t.Fatalf("compilePattern(%q): %v", tt.re, err)
		}
		if got := p.match(tt.name); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.re, tt.name, got, tt.want)
		}
	}
}

func TestCompileInvalid(t *testing.T) {
	for _, re := range []string{
		"(",
		"[",
		"a**",
		"(?=lookahead)", // PCRE accepts it; RE2 cannot express it
		`(a)\1`,         // backreference: likewise
	} {
		p := Permission{Configure: ".*", Write: re, Read: ".*"}
		if _, err := p.Compile(); !errors.Is(err, ErrInvalidRegexp) {
			t.Errorf("Compile with %q: err = %v, want ErrInvalidRegexp", re, err)
		}
		tp := TopicPermission{Exchange: "amq.topic", Write: ".*", Read: re}
		if _, err := tp.Compile(); !errors.Is(err, ErrInvalidRegexp) {
			t.Errorf("topic Compile with %q: err = %v, want ErrInvalidRegexp", re, err)
		}
	}
}

func TestCompiledPermissionAllows(t *testing.T) {
	p := Permission{Configure: "^cfg-", Write: "^w-", Read: ""}
	c, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if c.Permission() != p {
		t.Fatalf("Permission() = %+v", c.Permission())
	}
	tests := []struct {
		k    Kind
		name string
		want bool
	}{
		{Configure, "cfg-1", true},
		{Configure, "w-1", false},
		{Write, "w-1", true},
		{Write, "cfg-1", false},
		{Read, "cfg-1", false},
		{Read, "", true},
		{Kind(7), "cfg-1", false},
	}
	for _, tt := range tests {
		if got := c.Allows(tt.k, tt.name); got != tt.want {
			t.Errorf("Allows(%v, %q) = %v, want %v", tt.k, tt.name, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Configure.String(), "configure"},
		{Write.String(), "write"},
		{Read.String(), "read"},
		{Kind(9).String(), "Kind(9)"},
		{Queue.String(), "queue"},
		{Exchange.String(), "exchange"},
		{ResourceType(5).String(), "ResourceType(5)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
