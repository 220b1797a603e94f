package auth

import (
	"fmt"
	"regexp"
)

// Kind is one of RabbitMQ's three permissions. Configure creates, destroys or
// alters a resource; Write injects messages into it; Read retrieves messages
// from it (docs/access-control.md, "How Permissions Work").
type Kind uint8

// Permission kinds.
const (
	Configure Kind = iota
	Write
	Read
)

var kindNames = [...]string{"configure", "write", "read"}

// String returns RabbitMQ's lower-case name, as used in its refusal messages.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ResourceType is the kind of named resource a permission is checked on.
type ResourceType uint8

// Resource types.
const (
	Queue ResourceType = iota
	Exchange
)

// String returns RabbitMQ's name for the type, as in "queue 'q' in vhost '/'".
func (t ResourceType) String() string {
	switch t {
	case Queue:
		return "queue"
	case Exchange:
		return "exchange"
	}
	return fmt.Sprintf("ResourceType(%d)", t)
}

// DefaultExchangeName is the name under which permissions on the default
// (nameless) exchange are checked (rabbit_access_control:check_resource_access/4).
const DefaultExchangeName = "amq.default"

// Permission is a user's rights in one vhost: three regexes as RabbitMQ
// stores them. A resource is allowed when the regex matches anywhere in its
// name; "" is a synonym of "^$" and ".*" allows everything.
type Permission struct {
	Configure string
	Write     string
	Read      string
}

// Compile validates and compiles p. An invalid regex is an error wrapping
// ErrInvalidRegexp, as RabbitMQ refuses it in set_permissions.
func (p Permission) Compile() (*CompiledPermission, error) {
	c := &CompiledPermission{src: p}
	for i, s := range [...]string{p.Configure, p.Write, p.Read} {
		pt, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		c.patterns[i] = pt
	}
	return c, nil
}

// CompiledPermission is a Permission ready to match. It is immutable and safe
// for concurrent use.
type CompiledPermission struct {
	src      Permission
	patterns [3]pattern // indexed by Kind
}

// Permission returns the regexes c was compiled from.
func (c *CompiledPermission) Permission() Permission { return c.src }

// Allows reports whether kind k is granted on the resource called name. The
// caller maps the default exchange to DefaultExchangeName; Registry does.
func (c *CompiledPermission) Allows(k Kind, name string) bool {
	if int(k) >= len(c.patterns) {
		return false
	}
	return c.patterns[k].match(name)
}

// pattern is one compiled permission regex, with fast paths for the two
// patterns nearly every deployment uses (".*" and "" / "^$").
type pattern struct {
	re   *regexp.Regexp
	kind patternKind
}

type patternKind uint8

const (
	patternRegexp patternKind = iota
	patternAll                // ".*": an unanchored search that matches every string
	patternEmpty              // "^$": matches only the empty name
)

// compilePattern compiles src the way rabbit_auth_backend_internal uses it:
// "" becomes "^$", and the regex is searched for, not anchored.
func compilePattern(src string) (pattern, error) {
	eff := src
	if eff == "" {
		eff = "^$" // rabbit_auth_backend_internal: <<"">> -> <<$^, $$>>
	}
	re, err := regexp.Compile(eff)
	if err != nil {
		return pattern{}, fmt.Errorf("%w '%s': %w", ErrInvalidRegexp, src, err)
	}
	p := pattern{re: re}
	switch eff {
	case ".*":
		p.kind = patternAll
	case "^$":
		p.kind = patternEmpty
	}
	return p, nil
}

func (p *pattern) match(s string) bool {
	switch p.kind {
	case patternAll:
		return true
	case patternEmpty:
		return s == ""
	}
	return p.re.MatchString(s)
}
