package route

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchTopic builds a trie of n patterns over a small vocabulary, so that
// prefixes are shared and keys match a realistic handful of patterns, and
// returns it with keys to route. Seeds are fixed.
func benchTopic(n, cacheEntries int) (*Topic[int], []string) {
	r := rand.New(rand.NewPCG(42, 7))
	word := func() string { return vocab[r.IntN(len(vocab))] }
	t := NewTopic[int](cacheEntries)
	for i := 0; t.Len() < n; i++ {
		ws := make([]string, 2+r.IntN(4))
		for j := range ws {
			switch x := r.IntN(100); {
			case x < 8:
				ws[j] = "*"
			case x < 11:
				ws[j] = "#"
			default:
				ws[j] = word()
			}
		}
		t.Add(strings.Join(ws, "."), i)
	}
	keys := make([]string, 1024)
	for i := range keys {
		ws := make([]string, 3+r.IntN(3))
		for j := range ws {
			ws[j] = word()
		}
		keys[i] = strings.Join(ws, ".")
	}
	return t, keys
}

// vocab: 26 topics × 10 qualifiers, about the spread of a real exchange.
var vocab = func() []string {
	var v []string
	for _, a := range strings.Fields("stock trade quote order fill cancel log error warn info debug sensor " +
		"temp humidity device fw user account payment invoice ship cart search auth mail sms") {
		for _, q := range strings.Fields("eu us asia nyse lse usd eur gbp a b") {
			v = append(v, a+"-"+q)
		}
	}
	return v
}()

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "match/s")
}

func BenchmarkTopicMatch(b *testing.B) {
	for _, bc := range []struct {
		name    string
		entries int
	}{{"cached", 4096}, {"uncached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			t, keys := benchTopic(10000, bc.entries)
			dests := 0
			visit := func(int) { dests++ }
			for _, k := range keys { // warm the cache and the scratch pool
				t.Match(k, visit)
			}
			dests = 0
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				t.Match(keys[i&1023], visit)
				i++
			}
			reportRate(b)
			b.ReportMetric(float64(dests)/float64(b.N), "dests/match")
		})
	}
}

// BenchmarkTopicMatchParallel: cached matches from every P, spread over many
// keys and all on one hot key; the cache must not serialise them.
func BenchmarkTopicMatchParallel(b *testing.B) {
	for _, hot := range []bool{false, true} {
		name := "spread"
		if hot {
			name = "hotkey"
		}
		b.Run(name, func(b *testing.B) {
			t, keys := benchTopic(10000, 4096)
			for _, k := range keys {
				t.Match(k, func(int) {})
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i, n := 0, 0
				visit := func(int) { n++ }
				for pb.Next() {
					if !hot {
						i++
					}
					t.Match(keys[i&1023], visit)
				}
			})
			reportRate(b)
		})
	}
}
