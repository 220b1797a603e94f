package core

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Session is a unit of work of one client: an AMQP channel, an MQTT session,
// a STOMP connection, the SQS API of one user. It owns consumers and leases;
// closing it requeues every unsettled delivery.
type Session struct {
	conn *Connection

	// deliverMu orders tag assignment with the hand-over to sinks, so tags
	// reach a client in increasing order. Lock order: deliverMu, then mu.
	deliverMu sync.Mutex

	mu        sync.Mutex
	nextTag   uint64
	unacked   map[uint64]*lease
	tags      []uint64 // issued tags, ascending, for Ack(multiple)
	consumers map[string]*Consumer
	closed    bool
	ctagSeq   uint64

	prefetchShared atomic.Int64 // session-wide unsettled limit (basic.qos global)
	inflight       atomic.Int64
}

// Connection returns the session's connection.
func (s *Session) Connection() *Connection { return s.conn }

// register assigns l a tag and records it. The caller holds deliverMu.
func (s *Session) register(l *lease) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.nextTag++
	l.tag = s.nextTag
	if !l.noAck {
		s.unacked[l.tag] = l
		s.tags = append(s.tags, l.tag)
	}
	return true
}

// unregister undoes register after a sink refused the delivery.
func (s *Session) unregister(l *lease) {
	s.mu.Lock()
	delete(s.unacked, l.tag)
	s.mu.Unlock()
}

// forgetLease drops l when its queue ended it (deadline passed).
func (s *Session) forgetLease(l *lease) {
	s.mu.Lock()
	if s.unacked[l.tag] == l {
		delete(s.unacked, l.tag)
	}
	s.mu.Unlock()
}

// takeLocked removes and returns the leases named by tag (and all before it
// when multiple). An unknown tag is a PreconditionFailed error, as AMQP's
// "unknown delivery tag".
func (s *Session) takeLocked(tag uint64, multiple bool) ([]*lease, error) {
	if multiple {
		// As RabbitMQ (rabbit_channel:collect_acks): the tag itself must be
		// pending, or nothing is settled.
		if _, ok := s.unacked[tag]; !ok && tag != 0 {
			return nil, errorf(PreconditionFailed, "unknown delivery tag %d", tag)
		}
		var out []*lease
		i := 0
		for ; i < len(s.tags) && (s.tags[i] <= tag || tag == 0); i++ {
			if l, ok := s.unacked[s.tags[i]]; ok {
				delete(s.unacked, s.tags[i])
				out = append(out, l)
			}
		}
		s.tags = append(s.tags[:0], s.tags[i:]...)
		if len(out) == 0 && tag != 0 {
			return nil, errorf(PreconditionFailed, "unknown delivery tag %d", tag)
		}
		return out, nil
	}
	l, ok := s.unacked[tag]
	if !ok {
		return nil, errorf(PreconditionFailed, "unknown delivery tag %d", tag)
	}
	delete(s.unacked, tag)
	// Keep s.tags from growing without bound under out-of-order single acks.
	if len(s.tags) > 64 && len(s.tags) > 2*len(s.unacked) {
		j := 0
		for _, t := range s.tags {
			if _, ok := s.unacked[t]; ok {
				s.tags[j] = t
				j++
			}
		}
		s.tags = s.tags[:j]
	}
	return []*lease{l}, nil
}

// settleTags ends the leases named by tag with outcome o.
func (s *Session) settleTags(tag uint64, multiple bool, o outcome) error {
	s.mu.Lock()
	ls, err := s.takeLocked(tag, multiple)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	settleByQueue(ls, o)
	s.kickShared()
	return nil
}

// kickShared dispatches the queues of the session's consumers when a
// session-wide prefetch is set: credit freed by settling on one queue may be
// what a consumer of another queue waits for.
func (s *Session) kickShared() {
	if s.prefetchShared.Load() > 0 {
		s.dispatchConsumers()
	}
}

// dispatchConsumers dispatches the queue of every consumer of the session.
func (s *Session) dispatchConsumers() {
	s.mu.Lock()
	var qs []*Queue
	for _, c := range s.consumers {
		if !c.waiter && !slices.Contains(qs, c.q) {
			qs = append(qs, c.q)
		}
	}
	s.mu.Unlock()
	for _, q := range qs {
		q.dispatch()
	}
}

// settleByQueue settles leases one queue at a time, in tag order per queue.
func settleByQueue(ls []*lease, o outcome) {
	if len(ls) > 0 && !slices.ContainsFunc(ls, func(l *lease) bool { return l.q != ls[0].q }) {
		ls[0].q.settle(ls, o) // the common case: one queue, nothing to split
		return
	}
	for len(ls) > 0 {
		q := ls[0].q
		var mine, rest []*lease
		for _, l := range ls {
			if l.q == q {
				mine = append(mine, l)
			} else {
				rest = append(rest, l)
			}
		}
		q.settle(mine, o)
		ls = rest
	}
}

// Ack settles a delivery (and, with multiple, every earlier one; tag 0 with
// multiple means all).
func (s *Session) Ack(tag uint64, multiple bool) error {
	return s.settleTags(tag, multiple, outcomeAck)
}

// AckEach settles each of tags on its own, as many Acks would, with one
// store commit and one dispatch per queue for all of them (SQS
// DeleteMessageBatch). errs[i] is tag i's error: PreconditionFailed for a
// tag the session does not hold. errs is nil when every tag was settled.
func (s *Session) AckEach(tags []uint64) (errs []error) {
	ls := make([]*lease, 0, len(tags))
	s.mu.Lock()
	for i, t := range tags {
		l, err := s.takeLocked(t, false)
		if err != nil {
			if errs == nil {
				errs = make([]error, len(tags))
			}
			errs[i] = err
			continue
		}
		ls = append(ls, l...)
	}
	s.mu.Unlock()
	settleByQueue(ls, outcomeAck)
	s.kickShared()
	return errs
}

// Flush waits until everything the broker wrote to its store before the call
// is durable: among it, this session's settlements so far. A front-end whose
// ack has a reply (SQS DeleteMessage) replies after Flush, so that a
// message whose deletion a client saw confirmed never comes back after a
// crash. AMQP and MQTT acks have no reply and need none. On a store that
// is not durable there is nothing to wait for.
func (s *Session) Flush() error {
	if !s.conn.b.durable {
		return nil
	}
	return s.conn.b.store.Flush()
}

// NackOptions say what becomes of a rejected delivery.
type NackOptions struct {
	Multiple bool
	// Requeue puts the message back at its position; otherwise it is
	// dead-lettered (reason rejected) or dropped.
	Requeue bool
}

// Nack rejects a delivery.
func (s *Session) Nack(tag uint64, opts NackOptions) error {
	o := outcomeReject
	if opts.Requeue {
		o = outcomeRequeue
	}
	return s.settleTags(tag, opts.Multiple, o)
}

// Touch changes a delivery's lease to end d from now; d == 0 requeues it now.
func (s *Session) Touch(tag uint64, d time.Duration) error {
	s.mu.Lock()
	l, ok := s.unacked[tag]
	if ok && d <= 0 {
		delete(s.unacked, tag)
	}
	s.mu.Unlock()
	if !ok || !l.q.touch(l, d) {
		return errorf(NotFound, "unknown delivery tag %d", tag)
	}
	return nil
}

// Recover requeues every unsettled delivery of the session (basic.recover).
func (s *Session) Recover() {
	s.mu.Lock()
	ls, _ := s.takeLocked(0, true)
	s.mu.Unlock()
	settleByQueue(ls, outcomeRequeue)
	s.kickShared()
}

// SetPrefetch sets a limit on unsettled deliveries shared by all of the
// session's consumers (AMQP basic.qos with global); 0 removes it.
func (s *Session) SetPrefetch(count int) {
	s.prefetchShared.Store(int64(count))
	s.dispatchConsumers() // a raised or removed limit frees credit
}

// Unacked is the number of unsettled deliveries of the session.
func (s *Session) Unacked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.unacked)
}

// DeliverUnleased runs deliver with the session's next delivery tag, under
// the lock that orders tags with the deliveries core hands to the session's
// sinks. It is for a delivery a front-end makes itself, without a queue and
// without a lease (AMQP direct reply-to: at most once, never acknowledged);
// deliver must not block or call into core. It reports false, without
// calling deliver, once the session is closed.
func (s *Session) DeliverUnleased(deliver func(tag uint64)) bool {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.nextTag++
	tag := s.nextTag
	s.mu.Unlock()
	deliver(tag)
	return true
}

// Consume subscribes to queue. The sink starts receiving before Consume
// returns.
func (s *Session) Consume(queue string, opts ConsumeOptions, sink Sink) (*Consumer, error) {
	q, err := s.conn.queueFor(queue, permRead)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errorf(PreconditionFailed, "session closed")
	}
	tag := opts.Tag
	if tag == "" {
		s.ctagSeq++
		tag = "ctag-" + strconv.FormatUint(s.conn.id, 10) + "." + strconv.FormatUint(s.ctagSeq, 10)
	}
	if _, dup := s.consumers[tag]; dup {
		s.mu.Unlock()
		return nil, errorf(InvalidArgument, "attempt to reuse consumer tag '%s'", tag)
	}
	c := &Consumer{s: s, q: q, tag: tag, noAck: opts.NoAck, exclusive: opts.Exclusive, priority: opts.Priority,
		prefetch: opts.PrefetchCount, prefBytes: opts.PrefetchBytes, lease: opts.Lease, sink: sink}
	s.consumers[tag] = c
	s.mu.Unlock()
	if err := q.addConsumer(c); err != nil {
		s.mu.Lock()
		delete(s.consumers, tag)
		s.mu.Unlock()
		return nil, err
	}
	return c, nil
}

// Cancel stops the consumer tag. Its unsettled deliveries stay leased to the
// session until settled or the session closes.
func (s *Session) Cancel(tag string) error {
	s.mu.Lock()
	c, ok := s.consumers[tag]
	delete(s.consumers, tag)
	s.mu.Unlock()
	if !ok {
		return errorf(NotFound, "no consumer '%s'", tag)
	}
	s.cancel(c)
	return nil
}

func (s *Session) cancel(c *Consumer) {
	c.cancelled.Store(true)
	if c.q.removeConsumer(c) {
		c.q.vh.deleteQueue(c.q, false, false, "auto-delete")
	}
}

// consumerCancelled is called when the queue of c went away.
func (s *Session) consumerCancelled(c *Consumer, err error) {
	s.mu.Lock()
	_, mine := s.consumers[c.tag]
	if mine {
		delete(s.consumers, c.tag)
	}
	s.mu.Unlock()
	if mine {
		c.sink.Cancelled(err) // a long-polling Get's sink ends the wait
	}
}

// Close requeues every unsettled delivery and cancels every consumer.
func (s *Session) Close() {
	s.deliverMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.deliverMu.Unlock()
		return
	}
	s.closed = true
	ls, _ := s.takeLocked(0, true)
	cs := make([]*Consumer, 0, len(s.consumers))
	for _, c := range s.consumers {
		c.cancelled.Store(true)
		cs = append(cs, c)
	}
	s.consumers = nil
	s.mu.Unlock()
	s.deliverMu.Unlock()
	// Requeue first, while the consumers (already marked cancelled) are
	// still registered: the requeued messages regain their places before a
	// remaining or newly active single consumer is served (RabbitMQ requeues
	// and then runs the queue in one step).
	settleByQueue(ls, outcomeRequeue)
	for _, c := range cs {
		s.cancel(c)
		if c.waiter {
			c.sink.Cancelled(nil) // a long-polling Get returns now
		}
	}
	s.conn.forgetSession(s)
}

// GetOptions configure Get.
type GetOptions struct {
	// Max is the most messages to return (at least 1).
	Max int
	// Wait is how long to wait for a first message when none is ready.
	Wait time.Duration
	// NoAck settles the messages as they are returned.
	NoAck bool
	// Lease requeues a returned message not settled within it; 0 uses the
	// queue's x-visibility-timeout, if any.
	Lease time.Duration
}

// Get returns up to Max ready messages (AMQP basic.get, SQS ReceiveMessage),
// waiting up to Wait for the first to arrive. An empty result is not an error.
func (s *Session) Get(ctx context.Context, queue string, opts GetOptions) ([]*Delivery, error) {
	q, err := s.conn.queueFor(queue, permRead)
	if err != nil {
		return nil, err
	}
	if opts.Max < 1 {
		opts.Max = 1
	}
	if opts.Lease <= 0 {
		opts.Lease = q.cfg.visibility
	}
	w := &getSink{ch: make(chan *Delivery, opts.Max), gone: make(chan struct{})}
	c := &Consumer{s: s, q: q, tag: "", noAck: opts.NoAck, lease: opts.Lease, sink: w, waiter: true, max: opts.Max}
	out := q.getNow(c)
	if len(out) > 0 || opts.Wait <= 0 {
		return out, nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errorf(PreconditionFailed, "session closed")
	}
	s.ctagSeq++
	c.tag = "get-" + strconv.FormatUint(s.ctagSeq, 10)
	s.consumers[c.tag] = c
	s.mu.Unlock()
	if err := q.addConsumer(c); err != nil {
		s.mu.Lock()
		delete(s.consumers, c.tag)
		s.mu.Unlock()
		return nil, err
	}
	timer := time.NewTimer(opts.Wait)
	select {
	case d := <-w.ch:
		out = append(out, d)
	case <-ctx.Done():
	case <-timer.C:
	case <-w.gone:
	}
	timer.Stop()
	s.mu.Lock()
	delete(s.consumers, c.tag)
	s.mu.Unlock()
	// Cancel under deliverMu: no hand-over to the waiter is in progress after.
	s.deliverMu.Lock()
	c.cancelled.Store(true)
	s.deliverMu.Unlock()
	q.removeConsumer(c)
	for {
		select {
		case d := <-w.ch:
			out = append(out, d)
		default:
			return out, nil
		}
	}
}

// getNow takes ready messages for a Get without registering a consumer.
func (q *Queue) getNow(c *Consumer) []*Delivery {
	b := q.vh.b
	var dead []deadLetter
	buf := handoffPool.Get().(*[]handoff)
	defer handoffPool.Put(buf)
	q.mu.Lock()
	now := instant{b: b}
	q.lastUsed = now.get()
	hs, dead := q.takeLocked(&now, c, c.max, (*buf)[:0], dead)
	defer clear(hs) // the references, for the GC
	q.armLocked(now.t)
	q.mu.Unlock()
	b.deadLetter(dead)
	out := make([]*Delivery, 0, len(hs))
	var failed, noAck []*lease
	for i := range hs {
		if q.handOff(&hs[i]) {
			d := <-c.sink.(*getSink).ch
			out = append(out, d)
			if c.noAck {
				noAck = append(noAck, hs[i].l)
			}
		} else {
			failed = append(failed, hs[i].l)
		}
	}
	if len(noAck) > 0 {
		q.settle(noAck, outcomeAck)
	}
	if len(failed) > 0 {
		q.settle(failed, outcomeUnsent)
	}
	return out
}

// getSink collects the deliveries of a Get.
type getSink struct {
	ch   chan *Delivery
	gone chan struct{}
}

func (g *getSink) TryDeliver(d *Delivery) bool {
	dd := *d
	select {
	case g.ch <- &dd:
		return true
	default:
		return false
	}
}

// Cancelled ends the wait: the queue was deleted or the session closed. The
// session calls it at most once, for a waiter still registered.
func (g *getSink) Cancelled(error) { close(g.gone) }
