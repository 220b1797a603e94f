package mqtt

import (
	"strings"
	"unicode/utf8"
)

// Topic names and filters ⇄ routing and binding keys (README "Topics").
//
// An MQTT level separator '/' is an AMQP word separator '.', and the other
// way round: inside a level, '.' is written '/' in the routing key, and
// inside a routing-key word, '/' is written '.' in the topic. The mapping
// swaps the two characters and nothing else, so it is its own inverse:
// every topic survives topic → key → topic and every routing key survives
// key → topic → key, which RabbitMQ's one-way replacement does not give.
//
//	MQTT  sensors/v1.2/temp   ⇄  key  sensors.v1/2.temp
//
// Filters map the same way, with '+' → '*' and '#' → '#' for whole levels.
// A filter level that is literally "*" becomes the AMQP wildcard '*', so the
// binding may be wider than the filter; deliveries are matched against the
// MQTT filters again (matchFilter) and what the filter does not match is
// settled without being sent.

// swapSeparators exchanges '/' and '.'.
func swapSeparators(s string) string {
	i := strings.IndexAny(s, "./")
	if i < 0 {
		return s
	}
	var b strings.Builder // one allocation, which String does not copy
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '/':
			b.WriteByte('.')
		case '.':
			b.WriteByte('/')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// topicToKey maps a topic name to its routing key.
func topicToKey(topic string) string { return swapSeparators(topic) }

// keyToTopic maps a routing key to the topic name MQTT subscribers see.
func keyToTopic(key string) string { return swapSeparators(key) }

// filterToKey maps a valid, non-shared topic filter to its binding key.
func filterToKey(filter string) string {
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch l {
		case "+":
			levels[i] = "*"
		case "#":
		default:
			levels[i] = strings.ReplaceAll(l, ".", "/")
		}
	}
	return strings.Join(levels, ".")
}

// sharePrefix starts a shared subscription filter, $share/<group>/<filter>.
const sharePrefix = "$share/"

// splitShared returns the group and the inner filter of a shared
// subscription filter; ok is false for any other filter.
func splitShared(filter string) (group, inner string, ok bool) {
	if !strings.HasPrefix(filter, sharePrefix) {
		return "", "", false
	}
	rest := filter[len(sharePrefix):]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// validTopic reports whether name may be published to: not empty, no
// wildcard, no U+0000, valid UTF-8 [MQTT-3.3.2-2] [MQTT-1.5.4-1] [MQTT-1.5.4-2].
func validTopic(name string) bool {
	return name != "" && !strings.ContainsAny(name, "+#\x00") && utf8.ValidString(name)
}

// validFilter reports whether f is a valid topic filter: '#' only as the
// last whole level, '+' only as a whole level [MQTT-4.7.1-2] [MQTT-4.7.1-3],
// and for $share/<group>/<filter> a group without wildcards or '/' and a
// valid inner filter [MQTT-4.8.2-1] [MQTT-4.8.2-2].
func validFilter(f string) bool {
	if f == "" || strings.IndexByte(f, 0) >= 0 || !utf8.ValidString(f) {
		return false
	}
	if group, inner, ok := splitShared(f); ok {
		return group != "" && !strings.ContainsAny(group, "+#") && validFilter(inner) && !strings.HasPrefix(inner, sharePrefix)
	}
	if strings.HasPrefix(f, "$share") && (len(f) == len("$share") || f[len("$share")] == '/') {
		return false // "$share" or "$share/group" without a filter
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#":
			if i != len(levels)-1 {
				return false
			}
		case l == "+":
		case strings.ContainsAny(l, "+#"):
			return false
		}
	}
	return true
}

// matchFilter reports whether topic matches the (non-shared) filter with
// MQTT's rules, including that a wildcard first level does not match a topic
// starting with '$' [MQTT-4.7.2-1] and that "a/#" matches "a" [MQTT-4.7.1-2].
func matchFilter(filter, topic string) bool {
	if topic != "" && topic[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := cutLevel(filter)
		if fl == "#" {
			return true
		}
		tl, trest, tmore := cutLevel(topic)
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// The topic ended: only a trailing "/#" still matches.
			return fmore && frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}

// cutLevel splits s at its first '/'.
func cutLevel(s string) (level, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
