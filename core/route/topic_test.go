package route

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
)

// topicCases are RabbitMQ's topic semantics, edge cases first. Every case runs
// through TopicMatch and through the trie, with and without the cache.
var topicCases = []struct {
	pattern, key string
	want         bool
}{
	{"a.b.c", "a.b.c", true},
	{"a.b.c", "a.b", false},
	{"a.b", "a.b.c", false},
	{"a.b", "A.B", false}, // words are bytes: case matters
	// "" has no words (split_topic_key(<<>>) = []).
	{"", "", true},
	{"", "a", false},
	{"", ".", false},
	{"*", "", false},
	{"*", "a", true},
	{"*", ".", false}, // "." is two empty words
	{"#", "", true},
	{"#", ".", true},
	{"#", "..", true},
	{"#", "a.b.c", true},
	{"#.#", "", true},
	{"#.#", "a.b", true},
	{"#.#.#.#", "a", true},
	// '#' at the start, middle and end.
	{"a.#", "a", true},
	{"a.#", "a.b.c", true},
	{"a.#", "b", false},
	{"a.#", "", false},
	{"#.a", "a", true},
	{"#.a", "b.a", true},
	{"#.a", "a.b", false},
	{"a.#.b", "a.b", true},
	{"a.#.b", "a.x.y.b", true},
	{"a.#.b", "a.x.y", false},
	{"a.#.#.b", "a.b", true},
	{"#.a.#", "b.a.c", true},
	{"#.b.#.c.#", "a.b.x.c", true},
	{"#.b.#.c.#", "a.c.b", false},
	// '#' next to '*'.
	{"*.#.*", "a", false},
	{"*.#.*", "a.b", true},
	{"*.#.*", "a.b.c.d", true},
	{"#.*", "", false},
	{"#.*", "a", true},
	{"*.#", "a", true},
	{"*.#", "", false},
	{"#.*.#", "", false},
	{"#.*.#", ".", true},
	{"a.*.#", "a", false},
	{"a.*.#", "a.b", true},
	// Empty words are words.
	{"a.*", "a.", true},
	{"a.*", "a", false},
	{"*.a", ".a", true},
	{"a..b", "a..b", true},
	{"a.*.b", "a..b", true},
	{"a..b", "a.b", false},
	{".", ".", true},
	{"*.*", ".", true},
	{"*.*.*", "..", true},
	{"*.*.*", "a.b", false},
	{"a.", "a.", true},
	{"a.", "a", false},
	{".a", "a", false},
	// Only a whole word "*" or "#" is a wildcard.
	{"a*b", "a*b", true},
	{"a*b", "axb", false},
	{"a#", "a.b", false},
	{"a#", "a#", true},
	{"#", "#", true},
	{"*", "*", true},
	{"a.*", "a.*", true},
	{"a.b", "a.*", false}, // a '*' in a key is a literal word
	{"é.*", "é.ü", true},
	{"*", "a b", true},
}

func TestTopicMatchTable(t *testing.T) {
	for _, c := range topicCases {
		if got := TopicMatch(c.pattern, c.key); got != c.want {
			t.Errorf("TopicMatch(%q, %q) = %v, want %v", c.pattern, c.key, got, c.want)
		}
		for _, entries := range []int{0, 64} {
			tr := NewTopic[string](entries)
			tr.Add(c.pattern, "d")
			for range 2 { // the second round is served by the cache
				if got := len(matchAll(tr, c.key)) == 1; got != c.want {
					t.Errorf("trie(cache %d) %q vs %q = %v, want %v", entries, c.pattern, c.key, got, c.want)
				}
			}
		}
	}
}

// TestTopicTrieAllCases binds every table pattern in one trie, so patterns
// share prefixes, and checks every key against the reference.
func TestTopicTrieAllCases(t *testing.T) {
	var pats, keys []string
	for _, c := range topicCases {
		pats = append(pats, c.pattern)
		keys = append(keys, c.key)
	}
	for _, entries := range []int{0, 2, 1024} {
		tr := NewTopic[string](entries)
		for _, p := range pats {
			tr.Add(p, p) // destination = its pattern
		}
		for range 2 {
			for _, k := range keys {
				checkAgainstRef(t, tr, pats, k)
			}
		}
	}
}

func matchAll[D comparable](tr *Topic[D], key string) []D {
	var out []D
	tr.Match(key, func(d D) { out = append(out, d) })
	return out
}

// checkAgainstRef checks a trie whose destinations are their patterns.
func checkAgainstRef(t *testing.T, tr *Topic[string], pats []string, key string) {
	t.Helper()
	got := matchAll(tr, key)
	sort.Strings(got)
	var want []string
	for _, p := range pats {
		if TopicMatch(p, key) && !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("key %q: trie %q, reference %q", key, got, want)
	}
}

func TestTopicAddRemove(t *testing.T) {
	tr := NewTopic[string](16)
	if !tr.Add("a.*", "q1") || tr.Add("a.*", "q1") {
		t.Fatal("Add: want true, then false for the same pair")
	}
	if !tr.Add("a.*", "q2") || !tr.Add("a.#", "q1") || tr.Len() != 3 {
		t.Fatalf("Len = %d, want 3", tr.Len())
	}
	// q1 is bound twice (a.* and a.#) and visited once.
	if got := sorted(matchAll(tr, "a.b")); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatalf("a.b -> %q", got)
	}
	if tr.Remove("a.*", "q3") || tr.Remove("a.b", "q1") || tr.Remove("x.y.z", "q1") {
		t.Fatal("Remove of an absent pair reported true")
	}
	if !tr.Remove("a.*", "q1") || tr.Remove("a.*", "q1") || tr.Len() != 2 {
		t.Fatalf("Remove: Len = %d", tr.Len())
	}
	if got := sorted(matchAll(tr, "a.b")); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatalf("a.b after removing a.*/q1 -> %q (q1 still bound by a.#)", got)
	}
	tr.Remove("a.*", "q2")
	tr.Remove("a.#", "q1")
	if tr.Len() != 0 || !tr.root.empty() {
		t.Fatalf("empty trie: Len %d, root %+v", tr.Len(), tr.root)
	}
	// Pruned node ids are reused: the scratch marks stay as small as the trie.
	high := tr.nextID
	tr.Add("x.y", "q")
	if tr.nextID != high {
		t.Fatalf("node ids not reused: %d -> %d", high, tr.nextID)
	}
}

func TestTopicPruneKeepsSharedPrefix(t *testing.T) {
	tr := NewTopic[int](0)
	tr.Add("a.b.c", 1)
	tr.Add("a.b", 2)
	tr.Add("a.#.c", 3)
	tr.Remove("a.b.c", 1)
	if got := matchAll(tr, "a.b"); !slices.Equal(got, []int{2}) {
		t.Fatalf("a.b -> %v", got)
	}
	if got := matchAll(tr, "a.x.c"); !slices.Equal(got, []int{3}) {
		t.Fatalf("a.x.c -> %v", got)
	}
	if tr.root.words["a"].words["b"].words != nil {
		t.Fatal("a.b.c not pruned")
	}
}

func TestTopicCacheInvalidation(t *testing.T) {
	tr := NewTopic[string](8)
	tr.Add("a.*", "q1")
	for range 2 {
		if got := matchAll(tr, "a.b"); !slices.Equal(got, []string{"q1"}) {
			t.Fatalf("a.b -> %q", got)
		}
	}
	if got := matchAll(tr, "c"); len(got) != 0 { // a cached miss
		t.Fatalf("c -> %q", got)
	}
	tr.Add("#", "q2")
	if got := sorted(matchAll(tr, "a.b")); !slices.Equal(got, []string{"q1", "q2"}) {
		t.Fatalf("after Add: a.b -> %q", got)
	}
	if got := matchAll(tr, "c"); !slices.Equal(got, []string{"q2"}) {
		t.Fatalf("after Add: c -> %q", got)
	}
	tr.Remove("a.*", "q1")
	if got := matchAll(tr, "a.b"); !slices.Equal(got, []string{"q2"}) {
		t.Fatalf("after Remove: a.b -> %q", got)
	}
	for i := range tr.cache.slots {
		if e := tr.cache.slots[i].Load(); e != nil && slices.Contains(e.dests, "q1") {
			t.Fatal("a removed destination is still referenced by the cache")
		}
	}
	// A failed Add or Remove changes nothing, so it keeps the cache.
	gen := tr.cache.gen
	tr.Add("#", "q2")
	tr.Remove("nope", "q2")
	if tr.cache.gen != gen {
		t.Fatal("a no-op Add/Remove invalidated the cache")
	}
}

func TestTopicCacheEviction(t *testing.T) {
	tr := NewTopic[int](4)
	tr.Add("k.*", 1)
	for i := range 200 { // far more keys than slots
		k := fmt.Sprintf("k.%d", i)
		if got := matchAll(tr, k); !slices.Equal(got, []int{1}) {
			t.Fatalf("%s -> %v", k, got)
		}
	}
	if n := len(tr.cache.slots); n != ways {
		t.Fatalf("%d slots, want %d", n, ways)
	}
}

func TestTopicManyDestinations(t *testing.T) {
	tr := NewTopic[int](0)
	for i := range 100 { // past indexAt on one node
		tr.Add("#", i)
		tr.Add("a.*", i%50) // overlapping: past linearDedupe candidates
	}
	if tr.Add("#", 7) {
		t.Fatal("duplicate accepted in an indexed node")
	}
	if got := matchAll(tr, "a.b"); len(got) != 100 || len(sortedInts(got)) != 100 {
		t.Fatalf("a.b -> %d destinations", len(got))
	}
	for i := range 95 {
		if !tr.Remove("#", i) {
			t.Fatalf("Remove(#, %d) = false", i)
		}
	}
	if got := sortedInts(matchAll(tr, "x")); !slices.Equal(got, []int{95, 96, 97, 98, 99}) {
		t.Fatalf("x -> %v", got)
	}
	if got := len(matchAll(tr, "a.b")); got != 55 {
		t.Fatalf("a.b -> %d destinations, want 55", got)
	}
}

// TestTopicRandomAgainstReference binds many random patterns and checks
// random keys against the reference, with and without the cache.
func TestTopicRandomAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a", "b", "", "*", "#", "c"}
	gen := func(max int, wild bool) string {
		n := r.IntN(max + 1)
		s := make([]string, n)
		for i := range s {
			w := words[r.IntN(len(words))]
			for !wild && (w == "*" || w == "#") {
				w = words[r.IntN(len(words))]
			}
			s[i] = w
		}
		return joinWords(s)
	}
	for _, entries := range []int{0, 8, 4096} {
		tr := NewTopic[string](entries)
		var pats []string
		for range 300 {
			p := gen(5, true)
			pats = append(pats, p)
			tr.Add(p, p)
		}
		for i := range 2000 {
			checkAgainstRef(t, tr, pats, gen(6, i%3 == 0))
			if i%50 == 0 { // churn: remove and re-add a pattern
				p := pats[r.IntN(len(pats))]
				tr.Remove(p, p)
				checkAgainstRef(t, tr, slices.DeleteFunc(slices.Clone(pats), func(x string) bool { return x == p }), gen(6, false))
				tr.Add(p, p)
			}
		}
	}
}

// TestTopicPathological: many '#' and long keys stay fast (the walk is
// bounded by words × nodes).
func TestTopicPathological(t *testing.T) {
	tr := NewTopic[int](0)
	p := "#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.*.#.*.#.*.#.z"
	tr.Add(p, 1)
	key := "a"
	for range 200 {
		key += ".a"
	}
	if got := matchAll(tr, key); len(got) != 0 {
		t.Fatal("matched without z")
	}
	if got := matchAll(tr, key+".z"); len(got) != 1 {
		t.Fatal("no match with z")
	}
	if !TopicMatch(p, key+".z") || TopicMatch(p, key) {
		t.Fatal("reference disagrees")
	}
}

func TestTopicConcurrent(t *testing.T) {
	var mu sync.RWMutex
	tr := NewTopic[string](64)
	var live []string // patterns bound, guarded by mu
	stable := []string{"s.#", "*.x", "#"}
	for _, p := range stable {
		tr.Add(p, p)
		live = append(live, p)
	}
	dynamic := []string{"s.x", "s.*", "#.x", "a.#", "s.#.x", "*.*"}
	keys := []string{"s.x", "a.x", "s", "a.b", "s.y.x", ""}

	var wg sync.WaitGroup
	var reads atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[(i+g)%len(keys)]
				mu.RLock()
				got := sorted(matchAll(tr, k))
				var want []string
				for _, p := range live {
					if TopicMatch(p, k) {
						want = append(want, p)
					}
				}
				mu.RUnlock()
				if sort.Strings(want); !slices.Equal(got, want) {
					errs <- fmt.Errorf("key %q: got %q, want %q", k, got, want)
					return
				}
				reads.Add(1)
			}
		}()
	}
	// Write until both sides have done enough to interleave, or a reader failed.
	for i := 0; (i < 2000 || reads.Load() < 20000) && len(errs) == 0; i++ {
		p := dynamic[i%len(dynamic)]
		mu.Lock()
		if i%2 == 0 {
			tr.Add(p, p)
			live = append(live, p)
		} else {
			tr.Remove(dynamic[(i-1)%len(dynamic)], dynamic[(i-1)%len(dynamic)])
			live = slices.DeleteFunc(live, func(x string) bool { return x == dynamic[(i-1)%len(dynamic)] })
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func TestTopicMatchAllocs(t *testing.T) {
	tr := NewTopic[int](1024)
	for i := range 100 {
		tr.Add(fmt.Sprintf("a.%d.#", i), i)
	}
	tr.Add("a.*.*", 1000)
	n := 0
	visit := func(int) { n++ }
	tr.Match("a.7.x", visit)
	if a := testing.AllocsPerRun(100, func() { tr.Match("a.7.x", visit) }); a != 0 {
		t.Errorf("cached Match: %v allocs, want 0", a)
	}
	if raceEnabled {
		return // sync.Pool drops items at random under -race
	}
	unc := NewTopic[int](0)
	unc.Add("a.*.*", 1)
	unc.Add("a.#", 2)
	unc.Match("a.b.c", visit)
	if a := testing.AllocsPerRun(100, func() { unc.Match("a.b.c", visit) }); a != 0 {
		t.Errorf("uncached Match: %v allocs, want 0", a)
	}
}

func sorted(s []string) []string { sort.Strings(s); return s }

func sortedInts(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func joinWords(ws []string) string {
	s := ""
	for i, w := range ws {
		if i > 0 {
			s += "."
		}
		s += w
	}
	return s
}
