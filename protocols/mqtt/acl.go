package mqtt

import (
	"errors"
	"fmt"
	"strings"
)

// ACLRule allows or denies publishing to, or subscribing to, the topics of
// Filter. Rules are checked in order before the broker's own permissions
// (which still apply afterwards); the first rule that decides wins, and when
// none decides the request is allowed.
//
// For a publish, a rule decides when its filter matches the topic. For a
// subscription, a deny rule decides when the subscription's filter could
// match any topic of the rule's filter (so "#" is refused by a deny of
// "secret/#"), and an allow rule only when every topic of the subscription's
// filter is one of the rule's.
//
// Filter may use {username}, {client_id} and {vhost}, replaced by the
// client's values, as RabbitMQ's topic permissions do.
type ACLRule struct {
	// User is the user name the rule is for; "" or "*" is everyone.
	User string `yaml:"user"`
	// VHost limits the rule to one vhost; "" is every vhost.
	VHost string `yaml:"vhost"`
	// Action is "publish", "subscribe" or "all".
	Action string `yaml:"action"`
	// Filter is an MQTT topic filter.
	Filter string `yaml:"filter"`
	// Allow is the decision; false denies.
	Allow bool `yaml:"allow"`
}

func (r ACLRule) validate() error {
	switch r.Action {
	case "publish", "subscribe", "all":
	default:
		return fmt.Errorf("action %q is not one of publish, subscribe, all", r.Action)
	}
	f := strings.NewReplacer("{username}", "u", "{client_id}", "c", "{vhost}", "v").Replace(r.Filter)
	if !validFilter(f) || strings.HasPrefix(f, sharePrefix) {
		return errors.New("filter " + fmt.Sprintf("%q", r.Filter) + " is not a valid topic filter")
	}
	return nil
}

// aclSubject is who asks.
type aclSubject struct {
	user, vhost, clientID string
}

// allowed applies the rules to a publish (topic) or a subscription (filter,
// without any $share prefix).
func allowed(rules []ACLRule, who aclSubject, subscribe bool, topicOrFilter string) bool {
	for _, r := range rules {
		if r.User != "" && r.User != "*" && r.User != who.user {
			continue
		}
		if r.VHost != "" && r.VHost != who.vhost {
			continue
		}
		switch r.Action {
		case "publish":
			if subscribe {
				continue
			}
		case "subscribe":
			if !subscribe {
				continue
			}
		}
		f := r.Filter
		if strings.IndexByte(f, '{') >= 0 {
			// A value holding a wildcard character must not widen the rule:
			// such a level matches no topic once replaced by NUL.
			esc := func(s string) string { return strings.NewReplacer("+", "\x00", "#", "\x00", "/", "\x00").Replace(s) }
			f = strings.NewReplacer("{username}", esc(who.user), "{client_id}", esc(who.clientID),
				"{vhost}", esc(who.vhost)).Replace(f)
		}
		var decides bool
		switch {
		case !subscribe:
			decides = matchFilter(f, topicOrFilter)
		case r.Allow:
			decides = filterCovers(f, topicOrFilter)
		default:
			decides = filtersOverlap(f, topicOrFilter)
		}
		if decides {
			return r.Allow
		}
	}
	return true
}

// filtersOverlap reports whether some topic matches both filters.
func filtersOverlap(a, b string) bool {
	if dollarFirst(a) != dollarFirst(b) && (isWildFirst(a) || isWildFirst(b)) {
		return false // a wildcard first level never matches a $ topic [MQTT-4.7.2-1]
	}
	for {
		al, arest, amore := cutLevel(a)
		bl, brest, bmore := cutLevel(b)
		if al == "#" || bl == "#" {
			return true
		}
		if al != "+" && bl != "+" && al != bl {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore:
			return brest == "#"
		case !bmore:
			return arest == "#"
		}
		a, b = arest, brest
	}
}

// filterCovers reports whether every topic matching sub also matches rule.
func filterCovers(rule, sub string) bool {
	if isWildFirst(sub) && !isWildFirst(rule) {
		return false
	}
	if dollarFirst(sub) && isWildFirst(rule) {
		return false
	}
	for {
		rl, rrest, rmore := cutLevel(rule)
		sl, srest, smore := cutLevel(sub)
		if rl == "#" {
			return true
		}
		switch {
		case sl == "#":
			return false
		case rl == "+":
		case rl != sl || sl == "+":
			return false
		}
		switch {
		case !rmore && !smore:
			return true
		case !smore:
			return rrest == "#" // "a/#" also matches "a"
		case !rmore:
			return false
		}
		rule, sub = rrest, srest
	}
}

func isWildFirst(f string) bool { return f != "" && (f[0] == '+' || f[0] == '#') }

func dollarFirst(f string) bool { return f != "" && f[0] == '$' }
