package core

import "container/heap"

// entry is one message's place in one queue.
type entry struct {
	seq        uint64 // position in the queue; requeued entries go back to it
	st         *stored
	expires    int64 // unix ns when the entry expires; 0 never
	ttlExpiry  bool  // expiry comes from a TTL (dead-lettered) rather than retention (dropped)
	visibleAt  int64 // unix ns before which it is not deliverable (delayed delivery)
	priority   uint8
	deliveries uint32 // times delivered so far
	group      string // FIFO message group
	recovered  bool   // read back at start: it may have been delivered before
	idx        int    // index in whichever entry heap holds it; -1 when none
}

// seqList keeps entries in seq order: new entries arrive with increasing seq
// and are appended; requeued entries go to a min-heap. pop takes the lower of
// the two heads, so a requeued message regains its original position (as
// RabbitMQ's classic queues do) while the common path stays an append.
type seqList struct {
	fifo     []*entry
	head     int
	requeued entryHeap
}

func (l *seqList) len() int { return len(l.fifo) - l.head + len(l.requeued) }

func (l *seqList) push(e *entry) { l.fifo = append(l.fifo, e) }

func (l *seqList) insert(e *entry) {
	if l.head == len(l.fifo) || e.seq > l.fifo[len(l.fifo)-1].seq {
		l.fifo = append(l.fifo, e)
		return
	}
	heap.Push(&l.requeued, e)
}

func (l *seqList) peek() *entry {
	var f *entry
	if l.head < len(l.fifo) {
		f = l.fifo[l.head]
	}
	if len(l.requeued) > 0 && (f == nil || l.requeued[0].seq < f.seq) {
		return l.requeued[0]
	}
	return f
}

func (l *seqList) pop() *entry {
	e := l.peek()
	if e == nil {
		return nil
	}
	if len(l.requeued) > 0 && l.requeued[0] == e {
		heap.Pop(&l.requeued)
		return e
	}
	l.fifo[l.head] = nil
	l.head++
	if l.head == len(l.fifo) {
		l.fifo, l.head = l.fifo[:0], 0
	} else if l.head >= 1024 && l.head*2 >= len(l.fifo) {
		n := copy(l.fifo, l.fifo[l.head:])
		clear(l.fifo[n:])
		l.fifo, l.head = l.fifo[:n], 0
	}
	return e
}

// each calls fn for every entry, in no particular order.
func (l *seqList) each(fn func(*entry)) {
	for _, e := range l.fifo[l.head:] {
		fn(e)
	}
	for _, e := range l.requeued {
		fn(e)
	}
}

type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h entryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *entryHeap) Push(x any)        { e := x.(*entry); e.idx = len(*h); *h = append(*h, e) }
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

// delayHeap orders delayed entries by the time they become visible.
type delayHeap []*entry

func (h delayHeap) Len() int { return len(h) }
func (h delayHeap) Less(i, j int) bool {
	if h[i].visibleAt == h[j].visibleAt {
		return h[i].seq < h[j].seq
	}
	return h[i].visibleAt < h[j].visibleAt
}
func (h delayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *delayHeap) Push(x any)   { e := x.(*entry); e.idx = len(*h); *h = append(*h, e) }
func (h *delayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

// readyQueue is the set of entries ready for delivery. Classic queues keep one
// seqList per priority; FIFO queues keep one per message group.
type readyQueue interface {
	len() int
	push(e *entry)    // a new entry (highest seq so far)
	requeue(e *entry) // an entry returning to its position
	peek() *entry     // the next entry to deliver, or nil
	pop() *entry      // removes peek()
	leased(e *entry)  // e (just popped) is now in flight
	settled(e *entry) // a lease of e ended (acked, requeued or dead-lettered)
	each(fn func(*entry))
	clear() []*entry
}

// priorityReady serves the highest priority first, seq order within one.
type priorityReady struct {
	levels []seqList
	n      int
}

func newPriorityReady(maxPriority int) *priorityReady {
	return &priorityReady{levels: make([]seqList, maxPriority+1)}
}

func (r *priorityReady) level(e *entry) *seqList {
	p := int(e.priority)
	if p >= len(r.levels) {
		p = len(r.levels) - 1
	}
	return &r.levels[p]
}

func (r *priorityReady) len() int         { return r.n }
func (r *priorityReady) push(e *entry)    { r.level(e).push(e); r.n++ }
func (r *priorityReady) requeue(e *entry) { r.level(e).insert(e); r.n++ }
func (r *priorityReady) leased(*entry)    {}
func (r *priorityReady) settled(*entry)   {}
func (r *priorityReady) each(fn func(*entry)) {
	for i := range r.levels {
		r.levels[i].each(fn)
	}
}

func (r *priorityReady) top() *seqList {
	for i := len(r.levels) - 1; i >= 0; i-- {
		if r.levels[i].len() > 0 {
			return &r.levels[i]
		}
	}
	return nil
}

func (r *priorityReady) peek() *entry {
	if l := r.top(); l != nil {
		return l.peek()
	}
	return nil
}

func (r *priorityReady) pop() *entry {
	if l := r.top(); l != nil {
		r.n--
		return l.pop()
	}
	return nil
}

func (r *priorityReady) clear() []*entry {
	var out []*entry
	r.each(func(e *entry) { out = append(out, e) })
	for i := range r.levels {
		r.levels[i] = seqList{}
	}
	r.n = 0
	return out
}
