package auth

import (
	"regexp"
	"strings"
	"sync"
)

// TopicPermission restricts the routing keys a user may publish with (Write)
// and bind or subscribe with (Read) on one topic exchange. Patterns are
// RabbitMQ regexes with variable expansion: "{username}", "{vhost}" and any
// variable the caller passes, such as "{client_id}"
// (docs/access-control.md, "Topic Authorisation").
type TopicPermission struct {
	Exchange string
	Write    string
	Read     string
}

// Compile validates and compiles p. Patterns are validated before expansion,
// as rabbit_auth_backend_internal:set_topic_permissions/6 does; a
// placeholder such as "{username}" is a literal to the regex compiler.
func (p TopicPermission) Compile() (*CompiledTopicPermission, error) {
	c := &CompiledTopicPermission{src: p}
	for i, s := range [...]string{p.Write, p.Read} {
		pt, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		c.patterns[i] = &topicPattern{pattern: pt, src: s, dynamic: strings.Contains(s, "{")}
	}
	return c, nil
}

// CompiledTopicPermission is a TopicPermission ready to match. It is safe for
// concurrent use.
type CompiledTopicPermission struct {
	src      TopicPermission
	patterns [2]*topicPattern // Write, Read
}

// TopicPermission returns the patterns c was compiled from.
func (c *CompiledTopicPermission) TopicPermission() TopicPermission { return c.src }

// Allows reports whether kind k (Write or Read) is granted for routingKey.
// user and vhost expand "{username}" and "{vhost}" and win over the same keys
// in vars, as in rabbit_channel:build_topic_variable_map/3. Configure has no
// topic pattern and is never allowed.
func (c *CompiledTopicPermission) Allows(k Kind, routingKey, user, vhost string, vars map[string]string) bool {
	var p *topicPattern
	switch k {
	case Write:
		p = c.patterns[0]
	case Read:
		p = c.patterns[1]
	default:
		return false
	}
	return p.match(routingKey, user, vhost, vars)
}

// maxExpanded bounds each pattern's cache of expanded regexes. Expansions
// differ per user, vhost and client id; a full cache is dropped and refilled.
const maxExpanded = 1024

// topicPattern is a topic regex that may need expanding before each match.
type topicPattern struct {
	pattern        // src compiled as written; used when nothing expands
	src     string // as written, expanded before each match when dynamic
	dynamic bool   // src contains '{', so a variable may expand

	mu       sync.RWMutex
	expanded map[string]*regexp.Regexp // expanded source → compiled
}

func (p *topicPattern) match(s, user, vhost string, vars map[string]string) bool {
	if !p.dynamic {
		return p.pattern.match(s)
	}
	var stack [256]byte
	buf, changed := appendExpanded(stack[:0], p.src, user, vhost, vars)
	if !changed {
		return p.pattern.match(s)
	}
	re, err := p.compiled(buf)
	if err != nil {
		// Escaped values cannot make a valid pattern invalid; refuse if they
		// somehow do.
		return false
	}
	return re.MatchString(s)
}

// compiled returns the regex for an expanded source, compiling and caching it
// on first use. The lookups index the map with string(buf), which does not
// allocate.
func (p *topicPattern) compiled(buf []byte) (*regexp.Regexp, error) {
	p.mu.RLock()
	re := p.expanded[string(buf)]
	p.mu.RUnlock()
	if re != nil {
		return re, nil
	}
	src := string(buf)
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.expanded == nil || len(p.expanded) >= maxExpanded {
		p.expanded = make(map[string]*regexp.Regexp)
	}
	p.expanded[src] = re
	p.mu.Unlock()
	return re, nil
}

// appendExpanded appends src to buf with every "{name}" whose name is
// "username", "vhost" or a key of vars replaced by the value, escaped so that
// it matches only itself. An unknown "{name}" stays as written, as with
// RabbitMQ's binary:replace. changed reports whether anything was replaced.
//
// RabbitMQ inserted values raw until rabbitmq-server PR #15442 ("Escape
// variable values in topic permissions"), which let an MQTT client choose a
// client id such as ".*" and widen its own rights; we follow the fixed
// behaviour. Expansion is one pass, so a value containing "{vhost}" is not
// expanded again.
func appendExpanded(buf []byte, src, user, vhost string, vars map[string]string) (out []byte, changed bool) {
	for {
		open := strings.IndexByte(src, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(src[open+1:], '}')
		if end < 0 {
			break
		}
		name := src[open+1 : open+1+end]
		val, ok := lookupVar(name, user, vhost, vars)
		if !ok {
			// Keep the '{' and rescan after it, so "{{username}}" expands
			// its inner placeholder as binary:replace would.
			buf = append(buf, src[:open+1]...)
			src = src[open+1:]
			continue
		}
		buf = append(buf, src[:open]...)
		buf = appendQuoteMeta(buf, val)
		src = src[open+1+end+1:]
		changed = true
	}
	return append(buf, src...), changed
}

func lookupVar(name, user, vhost string, vars map[string]string) (string, bool) {
	switch name {
	case "username":
		return user, true
	case "vhost":
		return vhost, true
	}
	v, ok := vars[name]
	return v, ok
}

// appendQuoteMeta is regexp.QuoteMeta appending to buf, to avoid allocating.
func appendQuoteMeta(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`\.+*?()|[]{}^$`, s[i]) >= 0 {
			buf = append(buf, '\\')
		}
		buf = append(buf, s[i])
	}
	return buf
}
