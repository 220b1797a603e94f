package route

import "testing"

func TestZZMissRate(t *testing.T) {
	tr, keys := benchTopic(10000, 4096)
	for _, k := range keys {
		tr.Match(k, func(int) {})
	}
	miss := 0
	for r := 0; r < 10; r++ {
		for _, k := range keys {
			if _, ok := tr.cache.lookup(tr.cache.hash(k), k); !ok {
				miss++
			}
			tr.Match(k, func(int) {})
		}
	}
	distinct := map[string]bool{}
	for _, k := range keys { distinct[k] = true }
	t.Logf("misses %d of %d, distinct keys %d, nodes %d", miss, 10*len(keys), len(distinct), tr.nextID)
}
