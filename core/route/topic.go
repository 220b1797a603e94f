package route

import (
	"slices"
	"strings"
	"sync"
)

// Topic is an index of AMQP topic binding patterns, each bound to one or more
// destinations of type D, answering "which destinations does this routing key
// reach".
//
// Concurrency contract: Match and Len may run concurrently from many
// goroutines while the caller holds a read lock (sync.RWMutex.RLock); Add and
// Remove must run exclusively, under the caller's write lock. Topic itself
// takes no lock on the trie. The match cache is shared by concurrent Match
// calls and is safe on its own (atomic slots, see topic_cache.go); Add and
// Remove invalidate it, which is safe because they exclude every Match.
type Topic[D comparable] struct {
	root  *node[D]
	pairs int // (pattern, destination) pairs, for Len

	// Node ids index the per-match scratch marks (see topic_match.go). Ids
	// of pruned nodes are reused so the mark array tracks the live trie,
	// not its history.
	nextID int32
	freeID []int32

	cache   *cache[D] // nil when caching is off
	scratch sync.Pool // *scratch[D], so a Match allocates nothing
}

// node is one trie node: the pattern prefix spelled by the edges from the root.
type node[D comparable] struct {
	id int32
	// hashEdge: the edge into this node is '#', so the node absorbs any
	// further word of the key and stays where it is.
	hashEdge bool
	words    map[string]*node[D] // literal words, never "*" or "#"
	star     *node[D]
	hash     *node[D]
	dests    []D         // destinations of the patterns ending here, no duplicates
	index    map[D]int32 // position in dests, once dests is too long to scan
}

// indexAt is the size past which a node indexes its destinations: a pattern
// such as "#" may be bound by thousands of queues, and Add must not be
// quadratic in them.
const indexAt = 16

// NewTopic returns an empty Topic whose match cache holds about cacheEntries
// routing keys (rounded up to a power of two); cacheEntries <= 0 disables the
// cache.
func NewTopic[D comparable](cacheEntries int) *Topic[D] {
	t := &Topic[D]{cache: newCache[D](cacheEntries)}
	t.root = t.newNode(false)
	return t
}

// Len returns the number of (pattern, destination) pairs.
func (t *Topic[D]) Len() int { return t.pairs }

// Add binds d with pattern. It reports false, and changes nothing, if that
// exact pair was already present. The caller holds the write lock.
func (t *Topic[D]) Add(pattern string, d D) bool {
	n := t.root
	ws := splitWords(pattern)
	for w, ok := ws.next(); ok; w, ok = ws.next() {
		n = t.child(n, w)
	}
	if !n.add(d) {
		return false
	}
	t.pairs++
	t.cache.invalidate(false)
	return true
}

// step is one edge of a path from the root, kept so Remove can prune.
type step[D comparable] struct {
	parent *node[D]
	word   string
}

// Remove unbinds d from pattern and prunes the nodes left empty. It reports
// false if the pair was not present. The caller holds the write lock.
func (t *Topic[D]) Remove(pattern string, d D) bool {
	var buf [16]step[D]
	path := buf[:0]
	n := t.root
	ws := splitWords(pattern)
	for w, ok := ws.next(); ok; w, ok = ws.next() {
		c := n.lookup(w)
		if c == nil {
			return false
		}
		path = append(path, step[D]{n, w})
		n = c
	}
	if !n.remove(d) {
		return false
	}
	t.pairs--
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		p := path[i].parent
		p.unlink(path[i].word)
		t.freeID = append(t.freeID, n.id)
		n = p
	}
	// A purge, not just a new generation: removed destinations (queues)
	// must not stay reachable from stale cache entries.
	t.cache.invalidate(true)
	return true
}

func (t *Topic[D]) newNode(hashEdge bool) *node[D] {
	var id int32
	if k := len(t.freeID); k > 0 {
		id = t.freeID[k-1]
		t.freeID = t.freeID[:k-1]
	} else {
		id = t.nextID
		t.nextID++
	}
	return &node[D]{id: id, hashEdge: hashEdge}
}

// child returns n's child along word w, creating it.
func (t *Topic[D]) child(n *node[D], w string) *node[D] {
	switch w {
	case "*":
		if n.star == nil {
			n.star = t.newNode(false)
		}
		return n.star
	case "#":
		if n.hash == nil {
			n.hash = t.newNode(true)
		}
		return n.hash
	}
	c := n.words[w]
	if c == nil {
		if n.words == nil {
			n.words = make(map[string]*node[D])
		}
		c = t.newNode(false)
		// A clone: w may be a slice of a large frame buffer the caller reuses
		// or would otherwise keep alive.
		n.words[strings.Clone(w)] = c
	}
	return c
}

// lookup returns n's child along pattern word w, or nil.
func (n *node[D]) lookup(w string) *node[D] {
	switch w {
	case "*":
		return n.star
	case "#":
		return n.hash
	}
	return n.words[w]
}

func (n *node[D]) unlink(w string) {
	switch w {
	case "*":
		n.star = nil
	case "#":
		n.hash = nil
	default:
		delete(n.words, w)
		if len(n.words) == 0 {
			n.words = nil
		}
	}
}

func (n *node[D]) empty() bool {
	return len(n.dests) == 0 && len(n.words) == 0 && n.star == nil && n.hash == nil
}

func (n *node[D]) add(d D) bool {
	if n.index != nil {
		if _, ok := n.index[d]; ok {
			return false
		}
		n.index[d] = int32(len(n.dests))
		n.dests = append(n.dests, d)
		return true
	}
	if slices.Contains(n.dests, d) {
		return false
	}
	n.dests = append(n.dests, d)
	if len(n.dests) > indexAt {
		n.index = make(map[D]int32, len(n.dests))
		for i, x := range n.dests {
			n.index[x] = int32(i)
		}
	}
	return true
}

func (n *node[D]) remove(d D) bool {
	var i int
	if n.index != nil {
		j, ok := n.index[d]
		if !ok {
			return false
		}
		delete(n.index, d)
		i = int(j)
	} else if i = slices.Index(n.dests, d); i < 0 {
		return false
	}
	last := len(n.dests) - 1
	if i != last {
		n.dests[i] = n.dests[last]
		if n.index != nil {
			n.index[n.dests[i]] = int32(i)
		}
	}
	var zero D
	n.dests[last] = zero // release it for the GC
	n.dests = n.dests[:last]
	if n.index != nil && len(n.dests) <= indexAt/2 {
		n.index = nil // hysteresis: no rebuild churn around indexAt
	}
	if len(n.dests) == 0 {
		n.dests = nil
	}
	return true
}

// wordIter walks the '.'-separated words of a key or pattern without
// allocating. As RabbitMQ's split_topic_key: "" has no words; otherwise k dots
// make k+1 words, any of which may be empty.
type wordIter struct {
	s    string
	done bool
}

func splitWords(s string) wordIter { return wordIter{s: s, done: s == ""} }

func (w *wordIter) next() (string, bool) {
	if w.done {
		return "", false
	}
	i := strings.IndexByte(w.s, '.')
	if i < 0 {
		w.done = true
		return w.s, true
	}
	word := w.s[:i]
	w.s = w.s[i+1:]
	return word, true
}
