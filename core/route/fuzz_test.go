package route

import (
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// FuzzTopic cross-checks the trie against TopicMatch. patterns holds up to
// eight patterns separated by '|'; each is bound to its index, then every
// other one is removed and the key is matched again.
func FuzzTopic(f *testing.F) {
	for _, c := range topicCases {
		f.Add(c.pattern, c.key)
	}
	f.Add("a.*|#|a.#.b|*.#.*", "a.x.b")
	f.Add("#.#|#|*", "")
	f.Fuzz(func(t *testing.T, patterns, key string) {
		if len(patterns) > 512 || len(key) > 256 {
			return
		}
		pats := strings.Split(patterns, "|")
		if len(pats) > 8 {
			pats = pats[:8]
		}
		for _, entries := range []int{0, 2} {
			tr := NewTopic[int](entries)
			for i, p := range pats {
				tr.Add(p, i)
			}
			live := make([]bool, len(pats))
			for i := range live {
				live[i] = true
			}
			for round := range 2 {
				for range 2 { // the second match may come from the cache
					got := matchAll(tr, key)
					sort.Ints(got)
					var want []int
					for i, p := range pats {
						if live[i] && TopicMatch(p, key) {
							want = append(want, i)
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("round %d, cache %d: patterns %q key %q: trie %v, reference %v",
							round, entries, pats, key, got, want)
					}
				}
				for i := 0; i < len(pats); i += 2 {
					if tr.Remove(pats[i], i) != live[i] {
						t.Fatalf("Remove(%q, %d) disagrees with liveness", pats[i], i)
					}
					live[i] = false
				}
			}
		}
	})
}

// FuzzHeaders decodes the input into a binding and headers and matches them:
// no panic, and equality is symmetric and reflexive (NaN aside).
func FuzzHeaders(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 11, 'a', 2, 3, 0, 11, 'a'})
	f.Add([]byte{3, 2, 13, 2, 6, 1, 8, 1, 1, 3, 15, 1, 6, 1})
	f.Add([]byte{4, 1, 16, 0, 2, 4, 13, 0, 1, 2, 12, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &valueGen{data: data}
		args, headers := g.table(0), g.table(0)
		if m := g.next(); m < 6 {
			args["x-match"] = []any{"all", "any", "all-with-x", "any-with-x", "bogus", []byte("any")}[m]
		}
		MatchHeaders(args, headers)
		err := ValidHeadersArgs(args)
		if _, isStr := args["x-match"].(string); err == nil && args["x-match"] != nil && !isStr {
			t.Fatalf("x-match %#v accepted", args["x-match"])
		}
		for k, a := range args {
			b := headers[k]
			if valueEqual(a, b) != valueEqual(b, a) {
				t.Fatalf("valueEqual not symmetric: %#v, %#v", a, b)
			}
			if !hasNaN(a) && !valueEqual(a, a) {
				t.Fatalf("valueEqual(%#v, itself) = false", a)
			}
		}
		if hasNaN(args) {
			return
		}
		mode := xMatch(args)
		counted := 0
		for k := range args {
			if k != "x-match" && (mode == modeAllWithX || mode == modeAnyWithX || !strings.HasPrefix(k, "x-")) {
				counted++
			}
		}
		anyOf := mode == modeAny || mode == modeAnyWithX
		if want := !anyOf || counted > 0; MatchHeaders(args, args) != want {
			t.Fatalf("binding %#v does not match itself as headers", args)
		}
	})
}

// valueGen turns fuzz bytes into AMQP field values, small ones so that
// collisions, and so matches, are common.
type valueGen struct {
	data []byte
}

func (g *valueGen) next() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

var fuzzKeys = []string{"a", "b", "x-a", "x-match", ""}

func (g *valueGen) table(depth int) map[string]any {
	n := int(g.next() % 5)
	t := make(map[string]any, n)
	for range n {
		t[fuzzKeys[int(g.next())%len(fuzzKeys)]] = g.value(depth)
	}
	return t
}

func (g *valueGen) value(depth int) any {
	k, v := g.next()%20, g.next()%4
	if depth >= 3 && (k == 13 || k == 15 || k == 16) {
		k = 0
	}
	switch k {
	case 0:
		return nil
	case 1:
		return v&1 == 1
	case 2:
		return int8(v) - 1
	case 3:
		return uint8(v)
	case 4:
		return int16(v)
	case 5:
		return uint16(v)
	case 6:
		return int32(v)
	case 7:
		return uint32(v)
	case 8:
		return int64(v) - 2
	case 9:
		return []float32{0, 1, float32(math.NaN()), float32(math.Inf(-1))}[v]
	case 10:
		return []float64{0, 1, math.NaN(), math.Copysign(0, -1)}[v]
	case 11:
		return string(rune('a' + v))
	case 12:
		return []byte{'a' + v}
	case 13:
		a := make([]any, v)
		for i := range a {
			a[i] = g.value(depth + 1)
		}
		return a
	case 14:
		return time.Unix(int64(v), int64(g.next())*1e7)
	case 15:
		return g.table(depth + 1)
	case 16:
		return table(g.table(depth + 1))
	case 17:
		return decimal{Scale: v, Value: int32(g.next() % 3)}
	case 18:
		return int(v)
	default:
		return uint64(math.MaxUint64 - uint64(v))
	}
}

func hasNaN(v any) bool {
	switch x := v.(type) {
	case float32:
		return x != x
	case float64:
		return math.IsNaN(x)
	case []any:
		return slices.ContainsFunc(x, hasNaN)
	}
	if t, ok := asTable(v); ok {
		for _, e := range t {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}
