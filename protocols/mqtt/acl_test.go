package mqtt

import "testing"

func TestACL(t *testing.T) {
	rules := []ACLRule{
		{User: "alice", Action: "subscribe", Filter: "secret/#", Allow: false},
		{User: "*", Action: "publish", Filter: "devices/{client_id}/#", Allow: true},
		{Action: "publish", Filter: "devices/#", Allow: false},
		{User: "bob", VHost: "iot", Action: "all", Filter: "ops/+", Allow: false},
		{User: "carol", Action: "subscribe", Filter: "public/#", Allow: true},
		{User: "carol", Action: "subscribe", Filter: "#", Allow: false},
	}
	alice := aclSubject{user: "alice", vhost: "/", clientID: "a1"}
	bob := aclSubject{user: "bob", vhost: "iot", clientID: "b+"}
	carol := aclSubject{user: "carol", vhost: "/", clientID: "c"}
	for _, tc := range []struct {
		who       aclSubject
		subscribe bool
		s         string
		want      bool
	}{
		{alice, true, "secret/x", false},
		{alice, true, "secret/#", false},
		{alice, true, "#", false}, // could match secret topics
		{alice, true, "+/x", false},
		{alice, true, "public/#", true},
		{alice, true, "$SYS/#", true}, // '#' does not reach secret/..., but $SYS is not secret either
		{alice, false, "secret/x", true},
		{alice, false, "devices/a1/temp", true}, // own client id
		{alice, false, "devices/zz/temp", false},
		{bob, false, "devices/b+/x", false}, // a wildcard in the client id does not widen the rule
		{bob, false, "ops/x", false},
		{bob, true, "ops/x", false},
		{bob, true, "ops/x/y", true},
		{aclSubject{user: "bob", vhost: "/"}, false, "ops/x", true}, // other vhost
		{carol, true, "public/a/b", true},
		{carol, true, "public", true}, // "public/#" covers "public"
		{carol, true, "public/+", true},
		{carol, true, "other", false},
		{carol, true, "+/a", false},
	} {
		if got := allowed(rules, tc.who, tc.subscribe, tc.s); got != tc.want {
			t.Errorf("%s subscribe=%v %q: %v, want %v", tc.who.user, tc.subscribe, tc.s, got, tc.want)
		}
	}
}

func TestFiltersOverlapAndCover(t *testing.T) {
	for _, tc := range []struct {
		a, b             string
		overlap, aCovers bool
	}{
		{"a/#", "#", true, false},
		{"a/#", "a", true, true},
		{"a/+", "a/b", true, true},
		{"a/b", "a/+", true, false},
		{"a/b", "a/c", false, false},
		{"+/b", "a/+", true, false},
		{"#", "$SYS/x", false, false},
		{"$SYS/#", "$SYS/x", true, true},
		{"a/+/c", "a/#", true, false},
		{"a", "a/b", false, false},
		{"+", "a/b", false, false},
	} {
		if got := filtersOverlap(tc.a, tc.b); got != tc.overlap {
			t.Errorf("filtersOverlap(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := filtersOverlap(tc.b, tc.a); got != tc.overlap {
			t.Errorf("filtersOverlap(%q, %q) = %v", tc.b, tc.a, got)
		}
		if got := filterCovers(tc.a, tc.b); got != tc.aCovers {
			t.Errorf("filterCovers(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Prefetch = 0
	c.MaxPacketSize = 10
	c.ACL = []ACLRule{{Action: "read", Filter: "a"}, {Action: "all", Filter: "a/#/b"}}
	if err := c.Validate(); err == nil {
		t.Fatal("bad configuration accepted")
	}
}
