package core

import (
	"container/heap"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Queue holds messages for consumers. All mutable state is guarded by mu;
// bindings are guarded by the vhost's lock. An idle queue costs memory only:
// its timer is a runtime timer armed for the next deadline, not a goroutine.
type Queue struct {
	vh         *VHost
	name       string
	id         uint64 // store key of its entries
	durable    bool
	exclusive  bool
	autoDelete bool
	args       Table
	cfg        queueConfig
	owner      *Connection // the connection owning an exclusive queue

	bindings []*binding // guarded by vh.mu

	mu          sync.Mutex
	ready       readyQueue
	readyBytes  int64
	delayed     delayHeap
	unacked     int
	leases      leaseHeap // leases with a deadline
	consumers   []*Consumer
	rr          int
	active      *Consumer // single active consumer
	nextSeq     uint64
	dedup       dedupWindow
	timer       Timer
	timerAt     int64
	dispatching bool
	again       bool
	deleted     bool
	lastUsed    int64
	hadConsumer bool
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Durable reports whether the queue survives a restart.
func (q *Queue) Durable() bool { return q.durable }

// persistsLocked reports whether entries of st are written to the store.
func (q *Queue) persists(st *stored) bool {
	return q.durable && st.persistent && q.vh.b.durable
}

// QueueInfo is a snapshot of a queue's counters.
type QueueInfo struct {
	Name       string
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Args       Table
	Ready      int // deliverable now
	Delayed    int // not yet visible
	Unacked    int // delivered, not settled
	Consumers  int
}

// Info returns the queue's counters.
func (q *Queue) Info() QueueInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueInfo{Name: q.name, Durable: q.durable, Exclusive: q.exclusive, AutoDelete: q.autoDelete,
		Args: q.args, Ready: q.ready.len(), Delayed: len(q.delayed), Unacked: q.unacked,
		Consumers: q.activeConsumersLocked()}
}

func (q *Queue) activeConsumersLocked() int {
	n := 0
	for _, c := range q.consumers {
		if !c.waiter {
			n++
		}
	}
	return n
}

// enqueueResult tells the publisher what happened to its message in a queue.
type enqueueResult uint8

const (
	enqueued enqueueResult = iota
	rejectedFull
	duplicate
)

// enqueue adds st to the queue. The caller holds no lock.
func (q *Queue) enqueue(st *stored, m *Message, msgTTL int64, pub *publishing) enqueueResult {
	b := q.vh.b
	now := pub.now
	var dead []deadLetter
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return enqueued
	}
	dedupKey := ""
	if q.cfg.queueType == TypeFIFO {
		dedupKey = dedupKeyFor(&q.cfg, m)
		q.expireDedupLocked(now)
	}
	if dedupKey != "" {
		if r, ok := q.dedup.lookup(dedupKey, now); ok {
			q.mu.Unlock()
			pub.duplicateOf, pub.seq = r.messageID, r.seq
			return duplicate
		}
	}
	if q.fullLocked(st.size) {
		switch q.cfg.overflow {
		case OverflowRejectPublish:
			q.mu.Unlock()
			return rejectedFull
		case OverflowRejectPublishDLX:
			q.mu.Unlock()
			if q.cfg.hasDLX { // without one the message is only refused
				b.deadLetter([]deadLetter{{q: q, st: st, reason: "maxlen", republishOnly: true}})
			}
			return rejectedFull
		}
	}
	q.nextSeq++
	e := &entry{seq: q.nextSeq, st: st, idx: -1, group: m.GroupID, priority: m.Properties.Priority}
	pub.seq = e.seq
	if dedupKey != "" {
		r := dedupRecord{until: now + int64(q.cfg.dedupWindow), messageID: m.Properties.MessageID, seq: e.seq}
		q.dedup.add(dedupKey, r)
		q.persistDedupLocked(dedupKey, r)
	}
	ttl := q.cfg.messageTTL
	if msgTTL >= 0 && (ttl < 0 || msgTTL < ttl) {
		ttl = msgTTL
	}
	if ttl >= 0 {
		e.expires, e.ttlExpiry = now+ttl*int64(time.Millisecond), true
	}
	if q.cfg.retention > 0 && (e.expires == 0 || now+int64(q.cfg.retention) < e.expires) {
		e.expires, e.ttlExpiry = now+int64(q.cfg.retention), false
	}
	delay := m.Delay
	if delay == 0 {
		delay = q.cfg.deliveryDelay
	}
	if delay > 0 {
		e.visibleAt = now + int64(delay)
	}
	// RabbitMQ: a message with TTL 0 is delivered only if a consumer can take
	// it at once; otherwise it expires on arrival. One a consumer can take
	// must not carry an expiry of now, or the dispatch below would find it
	// expired before handing it over.
	expireNow := false
	if ttl == 0 && e.visibleAt == 0 {
		if q.canTakeNowLocked(st.size) {
			e.expires, e.ttlExpiry = 0, false
			if q.cfg.retention > 0 {
				e.expires = now + int64(q.cfg.retention)
			}
		} else {
			expireNow = true
		}
	}
	st.refs.Add(1)
	if q.persists(st) {
		var batch store.Batch
		batch.Grow(2)
		if !pub.putMessage {
			pub.putMessage = true
			st.written.Store(true)
			batch.PutMessage(st.id, encodeMessage(m))
		}
		batch.PutEntry(q.id, e.seq, encodeEntry(e))
		pub.pending.Add(1)
		b.store.Commit(&batch, pub.committed)
	}
	if expireNow {
		dead = q.removeLocked(e, "expired", dead)
	} else if e.visibleAt > 0 {
		heap.Push(&q.delayed, e)
	} else {
		q.ready.push(e)
		q.readyBytes += int64(st.size)
		dead = q.overflowLocked(dead)
	}
	q.armLocked(now)
	hasConsumers := len(q.consumers) > 0
	q.mu.Unlock()
	b.deadLetter(dead)
	if hasConsumers {
		q.dispatch()
	}
	return enqueued
}

// fullLocked reports whether one more message of size would exceed a length
// limit. Only ready messages count, as in RabbitMQ.
func (q *Queue) fullLocked(size int) bool {
	n := int64(q.ready.len() + len(q.delayed))
	return (q.cfg.maxLength >= 0 && n >= q.cfg.maxLength) ||
		(q.cfg.maxBytes >= 0 && q.readyBytes+int64(size) > q.cfg.maxBytes)
}

// overflowLocked drops messages from the head while the queue is over a limit
// (x-overflow drop-head).
func (q *Queue) overflowLocked(dead []deadLetter) []deadLetter {
	for (q.cfg.maxLength >= 0 && int64(q.ready.len()+len(q.delayed)) > q.cfg.maxLength) ||
		(q.cfg.maxBytes >= 0 && q.readyBytes > q.cfg.maxBytes) {
		e := q.ready.pop()
		if e == nil {
			break
		}
		q.readyBytes -= int64(e.st.size)
		dead = q.removeLocked(e, "maxlen", dead)
	}
	return dead
}

// canTakeNowLocked reports whether some consumer has credit for a message.
func (q *Queue) canTakeNowLocked(size int) bool {
	rr := q.rr
	c := q.pickLocked(size)
	q.rr = rr // a probe, not a pick: round robin stays where it was
	return c != nil
}

// removeLocked takes e out of the queue for good: dead-lettered with reason
// when the queue has a dead-letter exchange (and the reason is one that
// dead-letters), dropped otherwise.
func (q *Queue) removeLocked(e *entry, reason string, dead []deadLetter) []deadLetter {
	if q.cfg.hasDLX && reason != "" {
		return append(dead, deadLetter{q: q, st: e.st, e: e, reason: reason})
	}
	q.releaseEntry(e, nil)
	return dead
}

// releaseEntry drops e's reference to its message and deletes it from the
// store; batch, if not nil, collects the writes instead of committing them.
// It touches no queue state, so dead-lettering calls it after republishing.
func (q *Queue) releaseEntry(e *entry, batch *store.Batch) {
	if batch == nil {
		if !q.persists(e.st) && !e.st.written.Load() {
			q.vh.b.unref(e.st, nil) // nothing was stored: nothing to delete
			return
		}
		batch = new(store.Batch)
		defer func() {
			if batch.Len() > 0 {
				q.vh.b.store.Commit(batch, nil)
			}
		}()
	}
	if q.persists(e.st) {
		batch.DeleteEntry(q.id, e.seq)
	}
	q.vh.b.unref(e.st, batch)
}

// armLocked points the queue's timer (now may be 0: the clock is read only if
// a timer must be armed) at its next deadline: a lease expiring,
// a delayed message becoming visible, the head expiring, the queue expiring.
func (q *Queue) armLocked(now int64) {
	next := int64(0)
	at := func(t int64) {
		if t > 0 && (next == 0 || t < next) {
			next = t
		}
	}
	if len(q.leases) > 0 {
		at(q.leases[0].deadline)
	}
	if len(q.delayed) > 0 {
		at(q.delayed[0].visibleAt)
	}
	if e := q.ready.peek(); e != nil {
		at(e.expires)
	}
	if q.cfg.expires > 0 && len(q.consumers) == 0 && !q.deleted {
		at(q.lastUsed + q.cfg.expires*int64(time.Millisecond))
	}
	if next == 0 || (q.timer != nil && q.timerAt <= next) {
		return
	}
	if q.timer != nil {
		q.timer.Stop()
	}
	if now == 0 {
		now = q.vh.b.now()
	}
	d := time.Duration(next - now)
	if d < 0 {
		d = 0
	}
	q.timerAt = next
	q.timer = q.vh.b.clock.AfterFunc(d, q.onTimer)
}

// onTimer handles every deadline that has passed.
func (q *Queue) onTimer() {
	b := q.vh.b
	now := b.now()
	var dead []deadLetter
	q.mu.Lock()
	q.timer, q.timerAt = nil, 0
	if q.deleted {
		q.mu.Unlock()
		return
	}
	for len(q.leases) > 0 && q.leases[0].deadline <= now {
		l := heap.Pop(&q.leases).(*lease)
		if l.s != nil {
			l.s.forgetLease(l)
		}
		dead = q.settleLocked(l, outcomeRequeue, nil, dead)
	}
	for len(q.delayed) > 0 && q.delayed[0].visibleAt <= now {
		e := heap.Pop(&q.delayed).(*entry)
		e.visibleAt = 0
		q.ready.requeue(e)
		q.readyBytes += int64(e.st.size)
	}
	dead = q.expireHeadsLocked(now, dead)
	expired := q.cfg.expires > 0 && len(q.consumers) == 0 && now >= q.lastUsed+q.cfg.expires*int64(time.Millisecond)
	q.armLocked(now)
	q.mu.Unlock()
	b.deadLetter(dead)
	if expired {
		q.vh.deleteQueue(q, false, false, "expired")
		return
	}
	q.dispatch()
}

// expireHeadsLocked removes expired messages from the head of the queue.
// Like RabbitMQ, a message with its own TTL behind a live one waits until it
// reaches the head.
func (q *Queue) expireHeadsLocked(now int64, dead []deadLetter) []deadLetter {
	for {
		e := q.ready.peek()
		if e == nil || e.expires == 0 || e.expires > now {
			return dead
		}
		q.ready.pop()
		q.readyBytes -= int64(e.st.size)
		reason := "expired"
		if !e.ttlExpiry {
			reason = "" // retention: dropped, never dead-lettered
		}
		dead = q.removeLocked(e, reason, dead)
	}
}
