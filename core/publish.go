package core

import (
	"github.com/mqgate/mqgate/core/store"
	"strconv"
	"sync"
	"sync/atomic"
)

// PublishOptions say what the publisher wants to hear back.
type PublishOptions struct {
	// Mandatory asks for Return when the message reaches no queue.
	Mandatory bool
	// Return is called (before Confirm) for an unroutable mandatory message.
	Return func()
	// Confirm, if set, is called exactly once when the message is safe: in
	// every queue it was routed to and, for a persistent message in a durable
	// queue, on disk. err is not nil when a queue refused it (x-overflow
	// reject-publish: ResourceLimit) or the store failed. Confirm may run
	// before Publish returns or later on a store goroutine; it must not block.
	Confirm func(err error)
	// Accepted, if set, is called once the message has passed every
	// permission check and been routed, before any queue has it: what a
	// front-end records there (MQTT's retained copy) is in place before any
	// consumer can see the message. It runs on the publishing goroutine and
	// must not call Publish.
	Accepted func()
}

// PublishResult reports where a message went.
type PublishResult struct {
	// Routed is the number of queues the message reached.
	Routed int
	// Duplicate reports that a FIFO queue dropped the message as a duplicate
	// of one inside its deduplication window.
	Duplicate bool
	// DuplicateOf is the message id of the message a FIFO queue deduplicated
	// this one against (SQS returns the original MessageId); it is empty when
	// that message had none.
	DuplicateOf string
	// Seq is the message's position in the (last) queue it reached.
	Seq uint64
}

// publishing tracks one Publish until every store write it caused is durable.
type publishing struct {
	pending     atomic.Int32
	err         atomic.Pointer[Error]
	confirm     func(error)
	putMessage  bool
	duplicateOf string
	seq         uint64
	now         int64 // unix ns of the publish: TTLs, delays and dedup windows start here
	st          *stored
	b           *Broker
}

var publishingPool = sync.Pool{New: func() any { return new(publishing) }}

// committed is the store's done callback for this publish's writes.
func (p *publishing) committed(err error) {
	if err != nil {
		p.err.CompareAndSwap(nil, &Error{Code: Internal, Msg: err.Error()})
	}
	p.release()
}

func (p *publishing) release() {
	if p.pending.Add(-1) != 0 {
		return
	}
	if p.putMessage {
		p.st.onDisk.Store(true)
		p.b.cacheBody(p.st)
	}
	if p.confirm != nil {
		if e := p.err.Load(); e != nil {
			p.confirm(e)
		} else {
			p.confirm(nil)
		}
	}
	*p = publishing{}
	publishingPool.Put(p)
}

// Publish routes m through its exchange into queues. Errors returned here are
// the publish's own faults (no exchange, access refused, bad expiration); a
// queue refusing the message is reported through Confirm.
func (s *Session) Publish(m *Message, o PublishOptions) (PublishResult, error) {
	c := s.conn
	vh := c.vh
	b := c.b
	msgTTL := int64(-1)
	if e := m.Properties.Expiration; e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil || n < 0 {
			return PublishResult{}, errorf(PreconditionFailed, "invalid expiration '%s'", e)
		}
		msgTTL = n
	}
	if err := c.checkExchange(permWrite, m.Exchange); err != nil {
		return PublishResult{}, err
	}
	var r routeSet
	vh.mu.RLock()
	x := vh.exchanges[m.Exchange]
	if x == nil {
		vh.mu.RUnlock()
		return PublishResult{}, errorf(NotFound, "no exchange '%s' in vhost '%s'", m.Exchange, vh.name)
	}
	if x.internal {
		vh.mu.RUnlock()
		return PublishResult{}, errorf(AccessRefused, "cannot publish to internal exchange '%s' in vhost '%s'", x.name, vh.name)
	}
	if err := c.checkTopic(permWrite, x, m.RoutingKey); err != nil {
		vh.mu.RUnlock()
		return PublishResult{}, err
	}
	x.routeLocked(m, &r)
	vh.mu.RUnlock()
	if o.Accepted != nil {
		o.Accepted()
	}
	now := b.clock.Now()
	if m.Published.IsZero() {
		m.Published = now
	}
	// Routing alone decides a return (a queue refusing the message fails the
	// confirm instead, as RabbitMQ nacks it), and the return comes before
	// the confirm, as AMQP sends basic.return before basic.ack.
	if len(r.queues) == 0 && o.Mandatory && o.Return != nil {
		o.Return()
	}
	res := b.deliverRouted(m, r.queues, msgTTL, o.Confirm, now.UnixNano())
	return res, nil
}

// deliverRouted enqueues m in qs and arranges the confirm.
func (b *Broker) deliverRouted(m *Message, qs []*Queue, msgTTL int64, confirm func(error), now int64) PublishResult {
	st := &stored{id: b.msgSeq.Add(1), size: m.size(), persistent: m.Persistent(), published: m.Published.UnixNano()}
	st.msg.Store(m)
	st.refs.Store(1) // the publisher's, until every queue has it
	p := publishingPool.Get().(*publishing)
	p.b, p.st, p.confirm, p.now = b, st, confirm, now
	p.pending.Store(1)
	b.hold(st)
	var res PublishResult
	for _, q := range qs {
		switch q.enqueue(st, m, msgTTL, p) {
		case enqueued:
			res.Routed++
		case rejectedFull:
			p.err.CompareAndSwap(nil, errorf(ResourceLimit, "queue '%s' in vhost '%s' is full", q.name, q.vh.name))
		case duplicate:
			res.Duplicate, res.DuplicateOf = true, p.duplicateOf
		}
	}
	res.Seq = p.seq
	// Drop the publisher's own reference: queues may have settled the message
	// already, and only now may it be forgotten.
	var batch store.Batch
	b.unref(st, &batch)
	if batch.Len() > 0 {
		b.store.Commit(&batch, nil)
	}
	p.release()
	return res
}
