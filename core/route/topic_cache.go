package route

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
)

// cache maps routing keys to their match results: a fixed array of 8-way sets
// of atomic pointers to immutable entries, with each entry's hash beside its
// pointer. A lookup only loads, so concurrent Match calls on hot keys share
// cache lines read-only instead of contending on a lock word (an RWMutex's
// reader count is a shared write on every RLock). The eight tags of a set are
// one 64-byte line; only an entry whose tag matches is dereferenced.
//
// The size is fixed at creation, which is the bound. A new key takes the first
// way of its set and pushes the others down, evicting the oldest. Eight ways
// make conflict misses rare: 1,024 keys cycling through a 4,096-entry cache
// missed about 1% of the time with four ways, and not measurably with eight.
//
// Concurrent stores may interleave; every entry carries its own hash, key and
// result and is checked on lookup, so a torn set costs a later miss, never a
// wrong answer.
//
// gen is read by Match and written by invalidate, which the Topic contract
// keeps apart (read lock vs write lock), so it needs no atomic.
type cache[D comparable] struct {
	seed  maphash.Seed
	mask  uint64
	gen   uint64
	tags  []atomic.Uint64
	slots []atomic.Pointer[cacheEntry[D]]
	dirty atomic.Bool // something was stored since the last purge
}

const ways = 8

type cacheEntry[D comparable] struct {
	hash  uint64
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
		tags:  make([]atomic.Uint64, n),
		slots: make([]atomic.Pointer[cacheEntry[D]], n),
	}
}

func (c *cache[D]) hash(key string) uint64 { return maphash.String(c.seed, key) }

func (c *cache[D]) lookup(h uint64, key string) ([]D, bool) {
	i := h & c.mask &^ (ways - 1)
	tags, slots := c.tags[i:i+ways:i+ways], c.slots[i:i+ways:i+ways]
	for w := range tags {
		if tags[w].Load() != h {
			continue
		}
		if e := slots[w].Load(); e != nil && e.hash == h && e.gen == c.gen && e.key == key {
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
	i := h & c.mask &^ (ways - 1)
	tags, slots := c.tags[i:i+ways:i+ways], c.slots[i:i+ways:i+ways]
	for w := ways - 1; w > 0; w-- {
		slots[w].Store(slots[w-1].Load())
		tags[w].Store(tags[w-1].Load())
	}
	// Pointer before tag: a reader that sees the new tag sees the new entry.
	slots[0].Store(e)
	tags[0].Store(h)
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
			c.tags[i].Store(0)
		}
		c.dirty.Store(false)
	}
}
