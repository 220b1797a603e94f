package core

import (
	"sync/atomic"
	"time"
)

// ConsumeOptions configure a consumer.
type ConsumeOptions struct {
	// Tag names the consumer within its session; empty asks core for one.
	Tag string
	// NoAck settles each delivery as it is handed over (at most once).
	NoAck bool
	// Exclusive refuses other consumers on the queue while this one exists.
	Exclusive bool
	// Priority: higher priority consumers get messages first (x-priority).
	Priority int
	// PrefetchCount and PrefetchBytes bound unsettled deliveries; 0 is no limit.
	PrefetchCount int
	PrefetchBytes int64
	// Lease, if positive, requeues a delivery not settled within it.
	Lease time.Duration
}

// Consumer is a subscription of a session to a queue.
type Consumer struct {
	s         *Session
	q         *Queue
	tag       string
	noAck     bool
	exclusive bool
	priority  int
	prefetch  int
	prefBytes int64
	lease     time.Duration
	sink      Sink
	waiter    bool // a long-polling Get, not a real consumer
	max       int  // waiter: deliveries wanted
	cancelled atomic.Bool

	// guarded by q.mu
	inflight      int
	inflightBytes int64
	blocked       bool
	resumes       uint32 // Resume calls: a refusal from before the last one must not block
	taken         int
}

// Tag is the consumer's tag.
func (c *Consumer) Tag() string { return c.tag }

// Queue is the name of the consumed queue.
func (c *Consumer) Queue() string { return c.q.name }

// hasCreditLocked reports whether c may take one more message of size.
func (c *Consumer) hasCreditLocked(size int) bool {
	if c.blocked || c.cancelled.Load() {
		return false
	}
	if c.waiter {
		return c.taken < c.max
	}
	if c.noAck {
		return true
	}
	if c.prefetch > 0 && c.inflight >= c.prefetch {
		return false
	}
	// A byte limit admits at least one message, however large.
	if c.prefBytes > 0 && c.inflight > 0 && c.inflightBytes+int64(size) > c.prefBytes {
		return false
	}
	s := c.s
	if n := s.prefetchShared.Load(); n > 0 && s.inflight.Load() >= n {
		return false
	}
	return true
}

// Resume lets a consumer whose sink refused a delivery receive again.
func (c *Consumer) Resume() {
	q := c.q
	q.mu.Lock()
	c.blocked = false
	c.resumes++
	q.mu.Unlock()
	q.dispatch()
}

// SetPrefetch changes the consumer's credit (AMQP basic.qos, MQTT receive
// maximum).
func (c *Consumer) SetPrefetch(count int, bytes int64) {
	q := c.q
	q.mu.Lock()
	c.prefetch, c.prefBytes = count, bytes
	q.mu.Unlock()
	q.dispatch()
}

// addConsumer registers c with q, enforcing exclusivity.
func (q *Queue) addConsumer(c *Consumer) error {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return errorf(NotFound, "no queue '%s' in vhost '%s'", q.name, q.vh.name)
	}
	for _, o := range q.consumers {
		if o.waiter {
			continue
		}
		if o.exclusive || (c.exclusive && !c.waiter) {
			q.mu.Unlock()
			return errorf(AccessRefused, "queue '%s' in vhost '%s' in exclusive use", q.name, q.vh.name)
		}
	}
	q.consumers = append(q.consumers, c)
	if !c.waiter {
		q.hadConsumer = true
		if q.cfg.singleActive && q.active == nil {
			q.active = c
		}
	}
	q.lastUsed = q.vh.b.now()
	q.mu.Unlock()
	q.dispatch()
	return nil
}

// removeConsumer unregisters c; with single active consumer the next one (the
// highest priority, then the oldest) becomes active. It reports whether the
// queue should now be auto-deleted.
func (q *Queue) removeConsumer(c *Consumer) (autoDelete bool) {
	q.mu.Lock()
	for i, o := range q.consumers {
		if o == c {
			q.consumers = append(q.consumers[:i], q.consumers[i+1:]...)
			break
		}
	}
	if q.active == c {
		q.active = nil
		for _, o := range q.consumers {
			if !o.waiter && (q.active == nil || o.priority > q.active.priority) {
				q.active = o
			}
		}
	}
	now := q.vh.b.now()
	q.lastUsed = now
	autoDelete = q.autoDelete && q.hadConsumer && q.activeConsumersLocked() == 0 && !q.deleted
	q.armLocked(now)
	q.mu.Unlock()
	if !autoDelete {
		q.dispatch()
	}
	return autoDelete
}
