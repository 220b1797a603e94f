package mqtt

import (
	"sort"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

func retainedTopics(rs []*retained) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Topic)
	}
	sort.Strings(out)
	return out
}

func TestRetainStore(t *testing.T) {
	b, err := core.New(core.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	rs := newRetainStore(b)
	now := epoch
	set := func(vhost, topic, payload string, expiry uint32) {
		done := make(chan error, 1)
		rs.set(vhost, &retained{Topic: topic, Payload: []byte(payload), Created: now.UnixMilli(),
			Props: packets.Properties{MessageExpiryInterval: expiry}}, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, tp := range []string{"a", "a/b", "a/b/c", "a/x/c", "$SYS/up", "/lead", "b"} {
		set("/", tp, tp, 0)
	}
	set("other", "a/b", "other vhost", 0)
	set("/", "old", "expires", 5)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"a", []string{"a"}},
		{"a/#", []string{"a", "a/b", "a/b/c", "a/x/c"}},
		{"a/+/c", []string{"a/b/c", "a/x/c"}},
		{"+", []string{"a", "b", "old"}},
		{"#", []string{"/lead", "a", "a/b", "a/b/c", "a/x/c", "b", "old"}},
		{"$SYS/#", []string{"$SYS/up"}},
		{"+/lead", []string{"/lead"}},
		{"nothing/#", nil},
	} {
		if got := retainedTopics(rs.match("/", tc.filter, now)); len(got) != len(tc.want) || (len(got) > 0 && fmtSlice(got) != fmtSlice(tc.want)) {
			t.Errorf("match(%q) = %q, want %q", tc.filter, got, tc.want)
		}
	}
	if got := rs.match("/", "old", now.Add(6*time.Second)); len(got) != 0 {
		t.Error("expired retained message matched")
	}
	set("/", "a/b", "", 0) // cleared
	if got := retainedTopics(rs.match("/", "a/#", now)); fmtSlice(got) != fmtSlice([]string{"a", "a/b/c", "a/x/c"}) {
		t.Errorf("after clearing a/b: %q", got)
	}
	if rs.len() != 8 {
		t.Errorf("len %d", rs.len())
	}
	// The store has them: a new store loads the same.
	rs2 := newRetainStore(b)
	if err := rs2.load(); err != nil {
		t.Fatal(err)
	}
	if rs2.len() != rs.len() || len(rs2.match("other", "#", now)) != 1 {
		t.Errorf("reloaded %d retained messages, want %d", rs2.len(), rs.len())
	}
	// Clearing everything prunes the trie.
	for _, tp := range []string{"a", "a/b/c", "a/x/c", "$SYS/up", "/lead", "b", "old"} {
		set("/", tp, "", 0)
	}
	if _, ok := rs.roots["/"]; ok {
		t.Error("empty vhost trie not pruned")
	}
}

func fmtSlice(s []string) string {
	out := ""
	for _, x := range s {
		out += x + "\x00"
	}
	return out
}

func TestSessionRecord(t *testing.T) {
	r := &sessionRecord{Version: recordVersion, VHost: "/", ClientID: "c", User: "u", Protocol: 5, Expiry: 60,
		Subs: []subRecord{{Filter: "a/#", QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 1, ID: 9},
			{Filter: "$share/g/x", QoS: 0}}}
	b, err := r.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSessionRecord(b)
	if err != nil || got.ClientID != "c" || len(got.Subs) != 2 || got.Subs[0] != r.Subs[0] {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{`{"v":2}`, `{"v":1,"subs":[{"f":"a/#/b"}]}`, `{"v":1,"subs":[{"f":"a","q":3}]}`, `nope`} {
		if _, err := decodeSessionRecord([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}
