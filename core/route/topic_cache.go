package route

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
)

// cache maps routing keys to their match results. It is a fixed array of
// four-way sets of atomic pointers to immutable entries: a lookup only loads,
// so concurrent Match calls on hot keys share cache lines read-only instead
// of contending on a lock word (an RWMutex's reader count is a shared write).
// Its size is fixed at creation, which is the bound; a new key takes the first
// way of its set and pushes the others down, evicting the oldest. Four ways
// (one 32-byte run of pointers) keep conflict misses rare: 1,024 hot keys in a
// 4,096-entry cache thrash about 1% of the time with two ways, and nearly never
// with four.
//
// Concurrent stores may overwrite each other; every entry carries its own key
// and result, so a lost store costs a later miss, never a wrong answer.
//
// gen is read by Match and written by invalidate, which the Topic contract
// keeps apart (read lock vs write lock), so it needs no atomic.
type cache[D comparable] struct {
	seed  maphash.Seed
	mask  uint64
	gen   uint64
	slots []atomic.Pointer[cacheEntry[D]]
	dirty atomic.Bool // something was stored since the last purge
}

const ways = 4

type cacheEntry[D comparable] struct {
	hash  uint64 // checked before the key, which costs a second cache line
	key   string
	gen   uint64
	dests []D // never modified once stored
}

func newCache[D comparable](entries int) *cache[D] {
	if entries <= 0 {
		return nil
	}
	n := ways // one set at least
	for n < entries && n < 1<<30 {
		n <<= 1
	}
	return &cache[D]{
		seed:  maphash.MakeSeed(),
		mask:  uint64(n - 1),
		slots: make([]atomic.Pointer[cacheEntry[D]], n),
	}
}

func (c *cache[D]) hash(key string) uint64 { return maphash.String(c.seed, key) }

func (c *cache[D]) set(h uint64) []atomic.Pointer[cacheEntry[D]] {
	i := h & c.mask &^ (ways - 1)
	return c.slots[i : i+ways : i+ways]
}

func (c *cache[D]) lookup(h uint64, key string) ([]D, bool) {
	set := c.set(h)
	for i := range set {
		e := set[i].Load()
		if e == nil {
			break // ways fill from the front
		}
		if e.hash == h && e.gen == c.gen && e.key == key {
			return e.dests, true
		}
	}
	return nil, false
}

// store caches a copy of dests for key and returns the copy.
func (c *cache[D]) store(h uint64, key string, dests []D) []D {
	e := &cacheEntry[D]{
		hash: h,
		// A clone: the key may be a slice of a frame buffer.
		key:   strings.Clone(key),
		gen:   c.gen,
		dests: slices.Clip(slices.Clone(dests)),
	}
	set := c.set(h)
	for i := ways - 1; i > 0; i-- {
		if old := set[i-1].Load(); old != nil {
			set[i].Store(old)
		}
	}
	set[0].Store(e)
	if !c.dirty.Load() { // read first: no shared write on the steady path
		c.dirty.Store(true)
	}
	return e.dests
}

// invalidate forgets every cached result; it runs under the Topic write lock.
// A new generation is O(1) and is enough after Add. After Remove the entries
// are also dropped, so that stale results do not keep removed destinations
// reachable until they happen to be evicted.
func (c *cache[D]) invalidate(purge bool) {
	if c == nil {
		return
	}
	c.gen++
	if purge && c.dirty.Load() {
		for i := range c.slots {
			c.slots[i].Store(nil)
		}
		c.dirty.Store(false)
	}
}
