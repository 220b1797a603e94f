package route

// Match calls visit once for every distinct destination bound with a pattern
// that matches key; a destination bound by several matching patterns is
// visited once. The order is unspecified. The caller holds the read lock;
// visit must not call Add or Remove.
//
// A cache hit costs a hash, one or two atomic loads and a string compare, and
// allocates nothing. A miss walks the trie with pooled scratch space and
// allocates only the cache entry.
func (t *Topic[D]) Match(key string, visit func(D)) {
	c := t.cache
	if c == nil {
		s := t.getScratch()
		for _, d := range t.collect(s, key) {
			visit(d)
		}
		t.putScratch(s)
		return
	}
	h := c.hash(key)
	ds, ok := c.lookup(h, key)
	if !ok {
		s := t.getScratch()
		ds = c.store(h, key, t.collect(s, key))
		t.putScratch(s)
	}
	for _, d := range ds {
		visit(d)
	}
}

// scratch is the per-Match working memory, pooled so concurrent matches
// neither allocate nor share it.
type scratch[D comparable] struct {
	// mark[id] == stamp: the node is already in the state set being built.
	// One stamp per key position dedupes the NFA states (node, position),
	// which bounds the walk by words × nodes however many '#' a pattern has.
	mark      []uint32
	stamp     uint32
	cur, next []*node[D]
	out       []D
	seen      map[D]struct{} // dedupes destinations when there are many
}

// linearDedupe is how many candidate destinations are deduped by scanning
// the output, before switching to a map.
const linearDedupe = 32

func (t *Topic[D]) getScratch() *scratch[D] {
	if v := t.scratch.Get(); v != nil {
		return v.(*scratch[D])
	}
	return new(scratch[D])
}

func (t *Topic[D]) putScratch(s *scratch[D]) {
	clear(s.out) // do not pin destinations from the pool
	s.out = s.out[:0]
	t.scratch.Put(s)
}

func (s *scratch[D]) nextStamp() {
	s.stamp++
	if s.stamp == 0 { // wrapped: old marks could collide with new stamps
		clear(s.mark)
		s.stamp = 1
	}
}

// enter adds n to set unless it is already there, with its '#' closure: a '#'
// child may match zero words, so it is in the set at the same key position,
// and so is its own '#' child ("#.#").
func (s *scratch[D]) enter(set []*node[D], n *node[D]) []*node[D] {
	for n != nil && s.mark[n.id] != s.stamp {
		s.mark[n.id] = s.stamp
		set = append(set, n)
		n = n.hash
	}
	return set
}

// collect returns the distinct destinations matching key, in s.out.
func (t *Topic[D]) collect(s *scratch[D], key string) []D {
	if need := int(t.nextID); len(s.mark) < need {
		s.mark = make([]uint32, need+need/4)
		s.stamp = 0
	}
	cur, next := s.cur[:0], s.next[:0]
	s.nextStamp()
	cur = s.enter(cur, t.root)
	ws := splitWords(key)
	for w, ok := ws.next(); ok && len(cur) > 0; w, ok = ws.next() {
		s.nextStamp()
		for _, n := range cur {
			if n.hashEdge {
				next = s.enter(next, n) // '#' takes this word too
			}
			if c := n.words[w]; c != nil {
				next = s.enter(next, c)
			}
			next = s.enter(next, n.star)
		}
		clear(cur) // do not pin nodes from the pool
		cur, next = next, cur[:0]
	}

	out, total, holders := s.out[:0], 0, 0
	for _, n := range cur {
		if len(n.dests) > 0 {
			total += len(n.dests)
			holders++
		}
	}
	switch {
	case holders <= 1: // one node's destinations are already distinct
		for _, n := range cur {
			out = append(out, n.dests...)
		}
	case total <= linearDedupe:
		for _, n := range cur {
			for _, d := range n.dests {
				if !containsDest(out, d) {
					out = append(out, d)
				}
			}
		}
	default:
		if s.seen == nil {
			s.seen = make(map[D]struct{}, total)
		}
		for _, n := range cur {
			for _, d := range n.dests {
				if _, dup := s.seen[d]; !dup {
					s.seen[d] = struct{}{}
					out = append(out, d)
				}
			}
		}
		clear(s.seen)
	}
	clear(cur)
	s.cur, s.next, s.out = cur[:0], next[:0], out
	return out
}

func containsDest[D comparable](ds []D, d D) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}
