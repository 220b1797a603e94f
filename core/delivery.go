package core

import (
	"container/heap"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Delivery is one message handed to a consumer or returned by Get.
type Delivery struct {
	// Tag identifies the delivery within its session for Ack, Nack and Touch.
	// Tags increase in the order deliveries are handed to the session's sinks.
	Tag         uint64
	Queue       string
	ConsumerTag string
	// Redelivered is true when the message was delivered before.
	Redelivered bool
	// Count is how many times the message has been delivered, this one included.
	Count uint32
	// Seq is the message's position in its queue (increasing per queue).
	Seq uint64
	// Remaining is the number of ready messages left in the queue (basic.get-ok).
	Remaining int
	Message   *Message
}

// Sink receives a consumer's deliveries. Core calls it without holding any
// queue lock, but under the session's delivery lock (so tags reach the wire in
// order): a Sink must never block and never call back into core.
type Sink interface {
	// TryDeliver hands d over. false means the sink cannot take it now: the
	// message goes back to its place and the consumer gets no more deliveries
	// until Consumer.Resume.
	TryDeliver(d *Delivery) bool
	// Cancelled reports that the broker cancelled the consumer (its queue was
	// deleted); err says why.
	Cancelled(err error)
}

// lease is one unsettled delivery.
type lease struct {
	q        *Queue
	e        *entry
	c        *Consumer // nil for Get
	s        *Session
	tag      uint64
	deadline int64 // unix ns; 0 none
	idx      int   // in q.leases; -1 when not there
	noAck    bool
	resumes  uint32 // c.resumes when the lease was taken
	// settled is set, under q.mu, by the first settleLocked. An Ack or Touch
	// that took the lease from its session just as its deadline passed
	// arrives second and must not end it again.
	settled bool
}

type leaseHeap []*lease

func (h leaseHeap) Len() int           { return len(h) }
func (h leaseHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h leaseHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *leaseHeap) Push(x any)        { l := x.(*lease); l.idx = len(*h); *h = append(*h, l) }
func (h *leaseHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	l.idx = -1
	return l
}

type outcome uint8

const (
	outcomeAck outcome = iota
	outcomeRequeue
	outcomeReject // dead-letter (reason rejected) or drop
	outcomeUnsent // the hand-over failed: requeue, and it was never delivered
)

// handoff is a delivery chosen under the queue lock and handed over outside it.
type handoff struct {
	l *lease
	d Delivery
}

const dispatchBatch = 64

var handoffPool = sync.Pool{New: func() any {
	b := make([]handoff, 0, dispatchBatch)
	return &b
}}

// dispatch hands ready messages to consumers with credit. Only one goroutine
// dispatches a queue at a time (others set again and leave), which keeps
// deliveries to a consumer in queue order without a goroutine per queue.
func (q *Queue) dispatch() {
	b := q.vh.b
	var settleNoAck, failed []*lease
	q.mu.Lock()
	if q.dispatching {
		q.again = true
		q.mu.Unlock()
		return
	}
	q.dispatching = true
	// The hand-over buffer is borrowed for this dispatch only: an idle queue
	// (say one per MQTT client) must not keep 64 entries' worth of it.
	buf := handoffPool.Get().(*[]handoff)
	defer handoffPool.Put(buf)
	for {
		var dead []deadLetter
		var batch *store.Batch
		now := instant{b: b}
		for _, l := range failed {
			// A sink that refused blocks its consumer, unless the consumer
			// was resumed since the delivery was chosen: that Resume ran
			// before this, and would otherwise be lost.
			if l.c.resumes == l.resumes {
				l.c.blocked = true
			}
			dead = q.settleLocked(l, outcomeUnsent, nil, dead)
		}
		for _, l := range settleNoAck {
			if batch == nil && (q.persists(l.e.st) || l.e.st.written.Load()) {
				batch = new(store.Batch) // one write for the batch's settlements
			}
			dead = q.settleLocked(l, outcomeAck, batch, dead)
		}
		failed, settleNoAck = failed[:0], settleNoAck[:0]
		if batch != nil && batch.Len() > 0 {
			b.store.Commit(batch, nil)
		}
		q.again = false
		n, d := q.takeLocked(&now, nil, dispatchBatch, (*buf)[:0], dead)
		dead = d
		if len(n) == 0 && !q.again {
			q.dispatching = false
			q.armLocked(now.t)
			q.mu.Unlock()
			b.deadLetter(dead)
			return
		}
		q.mu.Unlock()
		b.deadLetter(dead)
		for i := range n {
			h := &n[i]
			if refusedIn(failed, h.l.c) || !q.handOff(h) {
				failed = append(failed, h.l)
			} else if h.l.noAck {
				settleNoAck = append(settleNoAck, h.l)
			}
		}
		// Drop the buffer's references for the GC: only what this round
		// used, as clearing all of it costs more than the deliveries when
		// they come one at a time.
		clear(n)
		q.mu.Lock()
	}
}

// refusedIn reports whether c already failed to take a delivery of this
// batch: a Sink that refused gets nothing more until Resume, or a later
// message would overtake the refused one.
func refusedIn(failed []*lease, c *Consumer) bool {
	for _, l := range failed {
		if l.c == c {
			return true
		}
	}
	return false
}

// handOff loads the message body if it was evicted, registers the lease with
// its session and gives the delivery to the consumer's sink.
func (q *Queue) handOff(h *handoff) bool {
	l := h.l
	if h.d.Message == nil {
		m, err := q.vh.b.load(l.e.st)
		if err != nil {
			q.vh.b.log.Error("cannot read message from the store", "queue", q.name, "id", l.e.st.id, "err", err)
			return false
		}
		h.d.Message = m
	}
	c := l.c
	s := c.s
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if c.cancelled.Load() || !s.register(l) {
		return false
	}
	h.d.Tag = l.tag
	if c.sink.TryDeliver(&h.d) {
		return true
	}
	s.unregister(l)
	return false
}

// takeLocked chooses up to max (consumer, entry) pairs and leases them. With
// only set, it serves that consumer alone (Get); otherwise it round-robins over
// the consumers with credit, highest priority first.
func (q *Queue) takeLocked(now *instant, only *Consumer, max int, out []handoff, dead []deadLetter) ([]handoff, []deadLetter) {
	group := ""
	fifo, _ := q.ready.(*fifoReady)
	for len(out) < max {
		// The head of the group being taken expires like the queue's head.
		if fifo != nil && only != nil && group != "" {
			if g := fifo.peekGroup(group); g != nil && g.expires > 0 && g.expires <= now.get() {
				fifo.popGroup(group)
				q.readyBytes -= int64(g.st.size)
				reason := "expired"
				if !g.ttlExpiry {
					reason = "" // retention: dropped, never dead-lettered
				}
				dead = q.removeLocked(g, reason, dead)
				continue
			}
		}
		e := q.ready.peek()
		if e != nil && e.expires > 0 && e.expires <= now.get() {
			dead = q.expireHeadsLocked(now.get(), dead)
			continue
		}
		if e == nil && (fifo == nil || only == nil || group == "") {
			break // nothing to take: picking would move round robin on for nothing
		}
		size := 0
		if e != nil {
			size = e.st.size
		}
		c := only
		if c == nil {
			c = q.pickLocked(size)
		} else if !c.hasCreditLocked(size) {
			c = nil
		}
		if c == nil {
			break
		}
		// A Get from a FIFO queue keeps taking from the group it started
		// with, in order, before moving on (one receive, one group's run).
		if fifo != nil && only != nil && group != "" {
			if g := fifo.popGroup(group); g != nil {
				e = g
			} else {
				e = q.ready.pop()
			}
		} else {
			e = q.ready.pop()
		}
		if e == nil {
			break
		}
		group = e.group
		q.readyBytes -= int64(e.st.size)
		e.deliveries++
		l := &lease{q: q, e: e, c: c, s: c.s, idx: -1, noAck: c.noAck, resumes: c.resumes}
		if c.lease > 0 && !c.noAck {
			l.deadline = now.get() + int64(c.lease)
			heap.Push(&q.leases, l)
		}
		q.unacked++
		q.ready.leased(e)
		c.inflight++
		c.inflightBytes += int64(e.st.size)
		if c.waiter {
			c.taken++
		} else {
			// Only consumer deliveries count against the session-wide
			// prefetch; Get's do not (RabbitMQ: notify_limiter skips them).
			c.s.inflight.Add(1)
		}
		out = append(out, handoff{l: l, d: Delivery{Queue: q.name, ConsumerTag: c.tag,
			Redelivered: e.deliveries > 1 || e.recovered, Count: e.deliveries, Seq: e.seq,
			Remaining: q.ready.len(), Message: e.st.msg.Load()}})
	}
	return out, dead
}

// pickLocked returns the consumer that should get a message of size next.
func (q *Queue) pickLocked(size int) *Consumer {
	if q.cfg.singleActive {
		if c := q.active; c != nil && c.hasCreditLocked(size) {
			return c
		}
		return nil
	}
	n := len(q.consumers)
	var best *Consumer
	bestAt := 0
	// A long poll (a Get waiting for messages) served last keeps being served
	// while it has room, unless a consumer of higher priority can take the
	// message: messages published one after another then fill one waiting
	// ReceiveMessage up to its Max instead of waking every waiting poller
	// with one message each, and every message costs fewer calls.
	if n > 0 {
		at := (q.rr + n - 1) % n
		if c := q.consumers[at]; c.waiter && c.taken > 0 && c.hasCreditLocked(size) {
			best, bestAt = c, at
		}
	}
	for i := 0; i < n; i++ {
		at := (q.rr + i) % n
		c := q.consumers[at]
		if (best == nil || c.priority > best.priority) && c.hasCreditLocked(size) {
			best, bestAt = c, at
		}
	}
	if best != nil {
		q.rr = bestAt + 1
	}
	return best
}

// settleLocked ends lease l with outcome o. Store writes go to batch when
// given (the caller commits it), else are committed here.
func (q *Queue) settleLocked(l *lease, o outcome, batch *store.Batch, dead []deadLetter) []deadLetter {
	if l.settled {
		return dead
	}
	l.settled = true
	if l.idx >= 0 {
		heap.Remove(&q.leases, l.idx)
	}
	q.unacked--
	e := l.e
	if c := l.c; c != nil {
		c.inflight--
		c.inflightBytes -= int64(e.st.size)
		if !c.waiter {
			c.s.inflight.Add(-1)
		}
	}
	q.ready.settled(e)
	if q.deleted {
		// The queue's entries went with it (deleteQueue, Broker.Close): only
		// the memory the message holds is left to release. A body left on
		// disk without an entry is an orphan, which recovery deletes.
		if e.st.refs.Add(-1) == 0 {
			q.vh.b.forget(e.st)
		}
		return dead
	}
	switch o {
	case outcomeAck:
		q.releaseEntry(e, batch)
	case outcomeReject:
		dead = q.removeLocked(e, "rejected", dead)
	case outcomeUnsent:
		e.deliveries--
		q.ready.requeue(e)
		q.readyBytes += int64(e.st.size)
	case outcomeRequeue:
		if q.cfg.deliveryLimit >= 0 && int64(e.deliveries) > q.cfg.deliveryLimit {
			return q.removeLocked(e, "delivery_limit", dead)
		}
		q.ready.requeue(e)
		q.readyBytes += int64(e.st.size)
		if q.cfg.overflow == OverflowDropHead {
			// RabbitMQ's requeue_and_run drops from the head of a queue a
			// requeue took over its limit.
			dead = q.overflowLocked(dead)
		}
	}
	return dead
}

// settle ends leases of this queue from outside: the session's Ack, Nack and
// Close. It then dispatches, since credit was freed.
func (q *Queue) settle(ls []*lease, o outcome) {
	var dead []deadLetter
	var batch store.Batch
	if q.durable && q.vh.b.durable {
		batch.Grow(2 * len(ls)) // an entry and, usually, its message each
	}
	q.mu.Lock()
	for _, l := range ls {
		dead = q.settleLocked(l, o, &batch, dead)
	}
	if batch.Len() > 0 {
		q.vh.b.store.Commit(&batch, nil)
	}
	q.armLocked(0)
	q.mu.Unlock()
	q.vh.b.deadLetter(dead)
	q.dispatch()
}

// touch moves a lease's deadline to now+d (SQS ChangeMessageVisibility). A
// zero d makes the message visible again at once. It reports false when the
// lease had already ended (its deadline passed meanwhile).
func (q *Queue) touch(l *lease, d time.Duration) bool {
	if d <= 0 {
		q.settle([]*lease{l}, outcomeRequeue)
		return true
	}
	now := q.vh.b.now()
	q.mu.Lock()
	if l.settled {
		q.mu.Unlock()
		return false
	}
	l.deadline = now + int64(d)
	if l.idx >= 0 {
		heap.Fix(&q.leases, l.idx)
	} else {
		heap.Push(&q.leases, l)
	}
	if q.timer != nil && q.timerAt > l.deadline {
		q.timer.Stop()
		q.timer = nil
	}
	q.armLocked(now)
	q.mu.Unlock()
	return true
}
