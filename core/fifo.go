package core

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// fifoReady is the ready set of a FIFO queue (SQS FIFO semantics): messages of
// one group are delivered in order, and a group is not handed out while one of
// its messages is in flight. Groups that can deliver sit in a heap ordered by
// their head's seq, so the oldest available message goes first.
type fifoReady struct {
	groups map[string]*fifoGroup
	avail  groupHeap
	n      int
}

type fifoGroup struct {
	id       string
	list     seqList
	inflight int
	idx      int // in avail; -1 when not there
}

func newFIFOReady() *fifoReady { return &fifoReady{groups: make(map[string]*fifoGroup)} }

func (r *fifoReady) group(id string) *fifoGroup {
	g := r.groups[id]
	if g == nil {
		g = &fifoGroup{id: id, idx: -1}
		r.groups[id] = g
	}
	return g
}

// fix puts g in the heap, moves it, or takes it out, as its state says.
func (r *fifoReady) fix(g *fifoGroup) {
	want := g.inflight == 0 && g.list.len() > 0
	switch {
	case want && g.idx < 0:
		heap.Push(&r.avail, g)
	case want:
		heap.Fix(&r.avail, g.idx)
	case g.idx >= 0:
		heap.Remove(&r.avail, g.idx)
	}
	if g.inflight == 0 && g.list.len() == 0 {
		delete(r.groups, g.id)
	}
}

func (r *fifoReady) len() int { return r.n }

func (r *fifoReady) push(e *entry) {
	g := r.group(e.group)
	g.list.push(e)
	r.n++
	r.fix(g)
}

func (r *fifoReady) requeue(e *entry) {
	g := r.group(e.group)
	g.list.insert(e)
	r.n++
	r.fix(g)
}

func (r *fifoReady) peek() *entry {
	if len(r.avail) == 0 {
		return nil
	}
	return r.avail[0].list.peek()
}

func (r *fifoReady) pop() *entry {
	if len(r.avail) == 0 {
		return nil
	}
	g := r.avail[0]
	e := g.list.pop()
	r.n--
	r.fix(g)
	return e
}

// peekGroup returns the next entry of group id, or nil.
func (r *fifoReady) peekGroup(id string) *entry {
	if g := r.groups[id]; g != nil {
		return g.list.peek()
	}
	return nil
}

// popGroup takes the next entry of group id if that group has one ready, even
// while the group has messages in flight to the same taker: one receive may
// return several messages of a group, in order.
func (r *fifoReady) popGroup(id string) *entry {
	g := r.groups[id]
	if g == nil || g.list.len() == 0 {
		return nil
	}
	e := g.list.pop()
	r.n--
	r.fix(g)
	return e
}

func (r *fifoReady) leased(e *entry) {
	g := r.group(e.group)
	g.inflight++
	r.fix(g)
}

func (r *fifoReady) settled(e *entry) {
	g := r.group(e.group)
	if g.inflight > 0 {
		g.inflight--
	}
	r.fix(g)
}

func (r *fifoReady) each(fn func(*entry)) {
	for _, g := range r.groups {
		g.list.each(fn)
	}
}

func (r *fifoReady) clear() []*entry {
	var out []*entry
	for _, g := range r.groups {
		g.list.each(func(e *entry) { out = append(out, e) })
		g.list = seqList{}
		if g.idx >= 0 {
			heap.Remove(&r.avail, g.idx)
		}
		if g.inflight == 0 {
			delete(r.groups, g.id)
		}
	}
	r.n = 0
	return out
}

type groupHeap []*fifoGroup

func (h groupHeap) Len() int           { return len(h) }
func (h groupHeap) Less(i, j int) bool { return h[i].list.peek().seq < h[j].list.peek().seq }
func (h groupHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *groupHeap) Push(x any)        { g := x.(*fifoGroup); g.idx = len(*h); *h = append(*h, g) }
func (h *groupHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	g.idx = -1
	return g
}

// dedupWindow remembers deduplication ids for a time window. A record
// outlives the message it names (SQS: a duplicate sent after the original was
// deleted is still dropped within the 5-minute window).
type dedupWindow struct {
	seen  map[string]dedupRecord
	order []dedupKey // insertion order, for expiry
}

type dedupRecord struct {
	until     int64
	messageID string
	seq       uint64
}

type dedupKey struct {
	key   string
	until int64
}

// lookup returns the record for key if it is still inside the window.
func (d *dedupWindow) lookup(key string, now int64) (dedupRecord, bool) {
	r, ok := d.seen[key]
	return r, ok && r.until > now
}

func (d *dedupWindow) add(key string, r dedupRecord) {
	if d.seen == nil {
		d.seen = make(map[string]dedupRecord)
	}
	d.seen[key] = r
	d.order = append(d.order, dedupKey{key, r.until})
}

// expire forgets the records whose window has passed, calling gone for each.
func (d *dedupWindow) expire(now int64, gone func(key string)) {
	i := 0
	for ; i < len(d.order) && d.order[i].until <= now; i++ {
		k := d.order[i]
		if r, ok := d.seen[k.key]; ok && r.until == k.until {
			delete(d.seen, k.key)
			if gone != nil {
				gone(k.key)
			}
		}
	}
	if i > 0 {
		d.order = append(d.order[:0], d.order[i:]...)
	}
}

// dedupKeyFor is the key a message deduplicates on, or "" when it has none.
func dedupKeyFor(cfg *queueConfig, m *Message) string {
	id := m.DedupID
	if id == "" && cfg.contentDedup {
		sum := sha256.Sum256(m.Body)
		id = hex.EncodeToString(sum[:])
	}
	if id == "" {
		return ""
	}
	if cfg.dedupPerGroup {
		return m.GroupID + "\x00" + id
	}
	return id
}

// DefaultDedupWindow is SQS's deduplication interval.
const DefaultDedupWindow = 5 * time.Minute
