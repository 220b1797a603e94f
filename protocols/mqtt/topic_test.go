package mqtt

import "testing"

// README "Topics", table 1: topic name ⇄ routing key, both round trips.
func TestTopicAndRoutingKey(t *testing.T) {
	for _, tc := range []struct{ topic, key string }{
		{"a/b/c", "a.b.c"},
		{"sensors/v1.2/temp", "sensors.v1/2.temp"}, // '.' in a level survives
		{"a.b", "a/b"},
		{"/leading", ".leading"},
		{"trailing/", "trailing."},
		{"a//b", "a..b"},
		{"", ""},
		{"$SYS/x", "$SYS.x"},
		{"a*/b", "a*.b"},
		{"ünïcode/ключ", "ünïcode.ключ"},
		{"with space/x", "with space.x"},
	} {
		if got := topicToKey(tc.topic); got != tc.key {
			t.Errorf("topicToKey(%q) = %q, want %q", tc.topic, got, tc.key)
		}
		if got := keyToTopic(tc.key); got != tc.topic {
			t.Errorf("keyToTopic(%q) = %q, want %q", tc.key, got, tc.topic)
		}
		if got := keyToTopic(topicToKey(tc.topic)); got != tc.topic {
			t.Errorf("topic %q does not survive a round trip: %q", tc.topic, got)
		}
		if got := topicToKey(keyToTopic(tc.key)); got != tc.key {
			t.Errorf("key %q does not survive a round trip: %q", tc.key, got)
		}
	}
}

// README "Topics", table 2: topic filter → binding key.
func TestFilterToBindingKey(t *testing.T) {
	for _, tc := range []struct{ filter, key string }{
		{"a/b", "a.b"},
		{"a/+/c", "a.*.c"},
		{"a/#", "a.#"},
		{"#", "#"},
		{"+", "*"},
		{"+/+/#", "*.*.#"},
		{"v1.2/+", "v1/2.*"},
		{"a/*/b", "a.*.b"}, // a literal "*" level binds as a wildcard; delivery matching narrows it
	} {
		if got := filterToKey(tc.filter); got != tc.key {
			t.Errorf("filterToKey(%q) = %q, want %q", tc.filter, got, tc.key)
		}
	}
}

func TestValidTopicAndFilter(t *testing.T) {
	for _, tc := range []struct {
		s             string
		topic, filter bool
	}{
		{"a/b", true, true},
		{"a/+/b", false, true},
		{"a/#", false, true},
		{"#", false, true},
		{"a#", false, false},
		{"a/#/b", false, false},
		{"a/b+", false, false},
		{"+a", false, false},
		{"", false, false},
		{"a\x00b", false, false},
		{"$share/g/a/#", false, true},
		{"$share/g/#", false, true},
		{"$share/g", true, false}, // a topic name like any other, not a filter
		{"$share/", true, false},
		{"$share//a", true, false},
		{"$share/g+/a", false, false},
		{"$share/g/$share/h/a", true, false},
		{"$shared/x", true, true},
		{"\xff", false, false},
	} {
		if got := validTopic(tc.s); got != tc.topic {
			t.Errorf("validTopic(%q) = %v, want %v", tc.s, got, tc.topic)
		}
		if got := validFilter(tc.s); got != tc.filter {
			t.Errorf("validFilter(%q) = %v, want %v", tc.s, got, tc.filter)
		}
	}
}

func TestSplitShared(t *testing.T) {
	g, f, ok := splitShared("$share/grp/a/+/c")
	if !ok || g != "grp" || f != "a/+/c" {
		t.Fatalf("splitShared = %q %q %v", g, f, ok)
	}
	if _, _, ok := splitShared("a/b"); ok {
		t.Fatal("a/b is not shared")
	}
}

// MQTT's matching rules [MQTT-4.7.1-1..3] [MQTT-4.7.2-1].
func TestMatchFilter(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/+", "a/", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "a/b", true},
		{"#", "/", true},
		{"+/+", "/x", true},
		{"+", "", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$SYS/+", "$SYS/x", true},
		{"a/*", "a/x", false}, // '*' is literal in MQTT
		{"a/*", "a/*", true},
		{"sport/tennis/+", "sport/tennis/player1", true},
		{"sport/+/player1", "sport/tennis/player1", true},
		{"sport/tennis/#", "sport/tennis", true},
	} {
		if got := matchFilter(tc.filter, tc.topic); got != tc.want {
			t.Errorf("matchFilter(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

func TestQueueNames(t *testing.T) {
	if got := queueName("dev-1", 1); got != "mqtt-subscription-dev-1qos1" {
		t.Fatal(got)
	}
	if got := queueName("dev-1", 0); got != "mqtt-subscription-dev-1qos0" {
		t.Fatal(got)
	}
	long := string(make([]byte, 300))
	if got := queueName(long, 1); len(got) > maxQueueName {
		t.Fatalf("queue name of %d bytes", len(got))
	}
	if a, b := sharedQueueName("a-b", "c"), sharedQueueName("a", "b-c"); a == b {
		t.Fatalf("shared queue names collide: %q", a)
	}
	if got := sharedQueueName("g", "a/+"); got != "mqtt-shared-g/a/+" {
		t.Fatal(got)
	}
}

// Any topic survives topic → key → topic, any key key → topic → key, and a
// topic always matches the filter that is itself.
func FuzzTopicRoundTrip(f *testing.F) {
	for _, s := range []string{"a/b", "v1.2/x", "a//b", "$SYS/x", "", "a*/#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := keyToTopic(topicToKey(s)); got != s {
			t.Fatalf("topic %q came back as %q", s, got)
		}
		if got := topicToKey(keyToTopic(s)); got != s {
			t.Fatalf("key %q came back as %q", s, got)
		}
		if validTopic(s) && !matchFilter(s, s) {
			t.Fatalf("topic %q does not match itself", s)
		}
		if validFilter(s) {
			if _, _, shared := splitShared(s); !shared {
				_ = filterToKey(s)
				_ = filtersOverlap(s, s)
				if !filterCovers(s, s) {
					t.Fatalf("filter %q does not cover itself", s)
				}
			}
		}
	})
}
