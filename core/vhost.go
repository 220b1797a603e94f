package core

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/mqgate/mqgate/core/route"
	"github.com/mqgate/mqgate/core/store"
)

// VHost is a namespace of exchanges and queues. mu guards the maps and every
// binding of the vhost; routing takes it for reading.
type VHost struct {
	b    *Broker
	name string

	mu        sync.RWMutex
	exchanges map[string]*Exchange
	queues    map[string]*Queue
}

// Name is the vhost's name.
func (vh *VHost) Name() string { return vh.name }

// standardExchanges exist in every vhost (AMQP 0-9-1 §3.1.3 and RabbitMQ).
var standardExchanges = []struct{ name, kind string }{
	{"", KindDirect},
	{"amq.direct", KindDirect},
	{"amq.fanout", KindFanout},
	{"amq.topic", KindTopic},
	{"amq.headers", KindHeaders},
	{"amq.match", KindHeaders},
}

func newVHost(b *Broker, name string) *VHost {
	vh := &VHost{b: b, name: name, exchanges: make(map[string]*Exchange), queues: make(map[string]*Queue)}
	for _, s := range standardExchanges {
		vh.exchanges[s.name] = newExchange(vh, s.name, s.kind, true, false, false, nil)
	}
	return vh
}

func (vh *VHost) queue(name string) *Queue {
	vh.mu.RLock()
	defer vh.mu.RUnlock()
	return vh.queues[name]
}

func (vh *VHost) exchange(name string) *Exchange {
	vh.mu.RLock()
	defer vh.mu.RUnlock()
	return vh.exchanges[name]
}

// Queue returns the queue name, or nil.
func (vh *VHost) Queue(name string) *Queue { return vh.queue(name) }

// Exchange returns the exchange name, or nil.
func (vh *VHost) Exchange(name string) *Exchange { return vh.exchange(name) }

// QueueOptions describe a queue to declare.
type QueueOptions struct {
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Passive    bool // only check that it exists
	Args       Table
}

// ExchangeOptions describe an exchange to declare.
type ExchangeOptions struct {
	Kind       string
	Durable    bool
	AutoDelete bool
	Internal   bool
	Passive    bool
	Args       Table
}

// DeclareQueue creates the queue or checks that the existing one is
// equivalent. An empty name asks for a server-named queue ("amq.gen-…"). It
// returns the queue's name and counters.
func (s *Session) DeclareQueue(name string, o QueueOptions) (QueueInfo, error) {
	c := s.conn
	vh := c.vh
	if o.Passive {
		q := vh.queue(name)
		if q == nil {
			return QueueInfo{}, errorf(NotFound, "no queue '%s' in vhost '%s'", name, vh.name)
		}
		if q.exclusive && q.owner != c {
			return QueueInfo{}, lockedError(q)
		}
		q.touchUsed()
		return q.Info(), nil
	}
	if name == "" {
		name = "amq.gen-" + randomName()
	} else if strings.HasPrefix(name, "amq.") {
		return QueueInfo{}, errorf(AccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", name)
	}
	if err := c.checkQueue(permConfigure, name); err != nil {
		return QueueInfo{}, err
	}
	cfg, err := parseQueueArgs(name, vh.name, o.Args, o.Durable, o.Exclusive)
	if err != nil {
		return QueueInfo{}, err
	}
	vh.mu.Lock()
	if q := vh.queues[name]; q != nil {
		// Compared under vh.mu: SetQueueArguments replaces q.args under it.
		var err error
		if q.exclusive && q.owner != c {
			err = lockedError(q)
		} else {
			err = q.equivalent(o)
		}
		vh.mu.Unlock()
		if err != nil {
			return QueueInfo{}, err
		}
		q.touchUsed()
		return q.Info(), nil
	}
	if cfg.hasDLX {
		// RabbitMQ (rabbit_channel.erl): a declare that creates a queue with a
		// DLX needs read on the queue and write on the DLX; a redeclare does
		// not. The registry's lock is a leaf: checking under vh.mu is safe.
		err := c.checkQueue(permRead, name)
		if err == nil {
			err = c.checkExchange(permWrite, cfg.dlx)
		}
		if err != nil {
			vh.mu.Unlock()
			return QueueInfo{}, err
		}
	}
	q := vh.newQueueLocked(name, o, cfg)
	if o.Exclusive {
		q.owner = c
	}
	done := vh.b.persistQueueLocked(q)
	vh.mu.Unlock()
	if o.Exclusive {
		c.mu.Lock()
		c.exclusive[q] = struct{}{}
		c.mu.Unlock()
	}
	if err := done(); err != nil {
		return QueueInfo{}, err
	}
	q.mu.Lock()
	q.armLocked(vh.b.now())
	q.mu.Unlock()
	return q.Info(), nil
}

func randomName() string {
	var p [16]byte
	_, _ = rand.Read(p[:])
	return base64.RawURLEncoding.EncodeToString(p[:])
}

func (vh *VHost) newQueueLocked(name string, o QueueOptions, cfg queueConfig) *Queue {
	q := &Queue{vh: vh, name: name, id: vh.b.queueSeq.Add(1), durable: o.Durable, exclusive: o.Exclusive,
		autoDelete: o.AutoDelete, args: o.Args.Clone(), cfg: cfg, lastUsed: vh.b.now()}
	if cfg.queueType == TypeFIFO {
		q.ready = newFIFOReady()
	} else {
		q.ready = newPriorityReady(cfg.maxPriority)
	}
	vh.queues[name] = q
	return q
}

func (q *Queue) touchUsed() {
	q.mu.Lock()
	q.lastUsed = q.vh.b.now()
	q.mu.Unlock()
}

// equivalent checks a redeclaration against the queue, as RabbitMQ does.
func (q *Queue) equivalent(o QueueOptions) error {
	ineq := func(what string, got, cur any) error {
		return errorf(PreconditionFailed, "inequivalent arg '%s' for queue '%s' in vhost '%s': received '%v' but current is '%v'",
			what, q.name, q.vh.name, got, cur)
	}
	if o.Durable != q.durable {
		return ineq("durable", o.Durable, q.durable)
	}
	if o.Exclusive != q.exclusive {
		return lockedError(q)
	}
	if o.AutoDelete != q.autoDelete {
		return ineq("auto_delete", o.AutoDelete, q.autoDelete)
	}
	for _, k := range equivalenceArgs {
		a, hasA := o.Args[k]
		b, hasB := q.args[k]
		if hasA != hasB || (hasA && !sameArg(a, b)) {
			if !hasB {
				return errorf(PreconditionFailed, "inequivalent arg '%s' for queue '%s' in vhost '%s': received the value '%v' but current is none",
					k, q.name, q.vh.name, a)
			}
			if !hasA {
				return errorf(PreconditionFailed, "inequivalent arg '%s' for queue '%s' in vhost '%s': received none but current is the value '%v'",
					k, q.name, q.vh.name, b)
			}
			return errorf(PreconditionFailed, "inequivalent arg '%s' for queue '%s' in vhost '%s': received the value '%v' but current is the value '%v'",
				k, q.name, q.vh.name, a, b)
		}
	}
	return nil
}

// DeleteQueueOptions are queue.delete's conditions.
type DeleteQueueOptions struct {
	IfUnused bool
	IfEmpty  bool
}

// DeleteQueue deletes a queue and returns how many ready messages it held.
// Deleting a queue that does not exist succeeds with 0, as in RabbitMQ ≥3.x.
func (s *Session) DeleteQueue(name string, o DeleteQueueOptions) (int, error) {
	c := s.conn
	if err := c.checkQueue(permConfigure, name); err != nil {
		return 0, err
	}
	q := c.vh.queue(name)
	if q == nil {
		return 0, nil
	}
	if q.exclusive && q.owner != c {
		return 0, lockedError(q)
	}
	return c.vh.deleteQueue(q, o.IfUnused, o.IfEmpty, "deleted")
}

// deleteQueue removes q, its bindings and its messages, then cancels its
// consumers (outside every lock).
func (vh *VHost) deleteQueue(q *Queue, ifUnused, ifEmpty bool, why string) (int, error) {
	vh.mu.Lock()
	if vh.queues[q.name] != q {
		vh.mu.Unlock()
		return 0, nil
	}
	q.mu.Lock()
	if ifUnused && q.activeConsumersLocked() > 0 {
		q.mu.Unlock()
		vh.mu.Unlock()
		return 0, errorf(PreconditionFailed, "queue '%s' in vhost '%s' in use", q.name, vh.name)
	}
	if ifEmpty && q.ready.len()+len(q.delayed) > 0 {
		q.mu.Unlock()
		vh.mu.Unlock()
		return 0, errorf(PreconditionFailed, "queue '%s' in vhost '%s' is not empty", q.name, vh.name)
	}
	q.deleted = true
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	entries := q.ready.clear()
	for len(q.delayed) > 0 {
		entries = append(entries, q.delayed.pop())
	}
	for _, l := range q.leases {
		l.idx = -1
	}
	q.leases = nil
	consumers := q.consumers
	q.consumers = nil
	q.mu.Unlock()
	delete(vh.queues, q.name)
	var dropped []*Exchange
	bs := append([]*binding(nil), q.bindings...)
	for _, bd := range bs {
		bd.src.removeBindingLocked(bd)
		if bd.src.autoDelete && len(bd.src.bindings) == 0 {
			dropped = append(dropped, bd.src)
		}
	}
	var batch store.Batch
	if q.durable {
		batch.DeleteMeta(store.KindQueue, metaKey(vh.name, q.name))
		for _, bd := range bs {
			if bd.src.durable {
				batch.DeleteMeta(store.KindBinding, bindingKey(bd))
			}
		}
		batch.DeleteQueue(q.id)
	}
	q.bindings = nil
	for _, x := range dropped {
		vh.deleteExchangeLocked(x, &batch)
	}
	vh.mu.Unlock()
	for _, e := range entries {
		vh.b.unref(e.st, &batch)
	}
	if batch.Len() > 0 {
		vh.b.store.Commit(&batch, nil)
	}
	if q.owner != nil {
		q.owner.mu.Lock()
		delete(q.owner.exclusive, q)
		q.owner.mu.Unlock()
	}
	err := errorf(NotFound, "queue '%s' in vhost '%s' %s", q.name, vh.name, why)
	for _, c := range consumers {
		c.cancelled.Store(true)
		c.s.consumerCancelled(c, err)
	}
	return len(entries), nil
}

func (h *delayHeap) pop() *entry {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// Purge removes every ready message of a queue and returns how many.
func (s *Session) Purge(name string) (int, error) {
	q, err := s.conn.queueFor(name, permRead)
	if err != nil {
		return 0, err
	}
	var batch store.Batch
	q.mu.Lock()
	entries := q.ready.clear()
	for len(q.delayed) > 0 {
		entries = append(entries, q.delayed.pop())
	}
	q.readyBytes = 0
	for _, e := range entries {
		q.releaseEntry(e, &batch)
	}
	if batch.Len() > 0 {
		q.vh.b.store.Commit(&batch, nil)
	}
	q.mu.Unlock()
	return len(entries), nil
}

// DeclareExchange creates an exchange or checks the existing one.
func (s *Session) DeclareExchange(name string, o ExchangeOptions) error {
	c := s.conn
	vh := c.vh
	if o.Passive {
		if vh.exchange(name) == nil {
			return errorf(NotFound, "no exchange '%s' in vhost '%s'", name, vh.name)
		}
		return nil
	}
	if name == "" {
		return errorf(AccessRefused, "operation not permitted on the default exchange")
	}
	if err := c.checkExchange(permConfigure, name); err != nil {
		return err
	}
	vh.mu.RLock()
	x := vh.exchanges[name]
	vh.mu.RUnlock()
	if x != nil {
		return x.equivalent(o)
	}
	if strings.HasPrefix(name, "amq.") {
		return errorf(AccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", name)
	}
	if !validKind(o.Kind) {
		return errorf(InvalidArgument, "invalid exchange type '%s'", o.Kind)
	}
	if ae, ok := argString(o.Args[ArgAlternateExchange]); ok {
		if err := c.checkExchange(permRead, name); err != nil {
			return err
		}
		if err := c.checkExchange(permWrite, ae); err != nil {
			return err
		}
	}
	vh.mu.Lock()
	if x := vh.exchanges[name]; x != nil {
		vh.mu.Unlock()
		return x.equivalent(o)
	}
	x = newExchange(vh, name, o.Kind, o.Durable, o.AutoDelete, o.Internal, o.Args.Clone())
	vh.exchanges[name] = x
	done := vh.b.persistExchangeLocked(x)
	vh.mu.Unlock()
	return done()
}

func (x *Exchange) equivalent(o ExchangeOptions) error {
	ineq := func(what string, got, cur any) error {
		return errorf(PreconditionFailed, "inequivalent arg '%s' for exchange '%s' in vhost '%s': received '%v' but current is '%v'",
			what, x.name, x.vh.name, got, cur)
	}
	switch {
	case o.Kind != x.kind:
		return ineq("type", o.Kind, x.kind)
	case o.Durable != x.durable:
		return ineq("durable", o.Durable, x.durable)
	case o.AutoDelete != x.autoDelete:
		return ineq("auto_delete", o.AutoDelete, x.autoDelete)
	case o.Internal != x.internal:
		return ineq("internal", o.Internal, x.internal)
	}
	a, _ := argString(o.Args[ArgAlternateExchange])
	if a != x.alternate {
		return ineq(ArgAlternateExchange, a, x.alternate)
	}
	return nil
}

// DeleteExchangeOptions are exchange.delete's conditions.
type DeleteExchangeOptions struct{ IfUnused bool }

// DeleteExchange deletes an exchange and every binding to and from it.
func (s *Session) DeleteExchange(name string, o DeleteExchangeOptions) error {
	c := s.conn
	vh := c.vh
	if name == "" || strings.HasPrefix(name, "amq.") {
		return errorf(AccessRefused, "operation not permitted on the default exchange")
	}
	if err := c.checkExchange(permConfigure, name); err != nil {
		return err
	}
	vh.mu.Lock()
	x := vh.exchanges[name]
	if x == nil {
		vh.mu.Unlock()
		return errorf(NotFound, "no exchange '%s' in vhost '%s'", name, vh.name)
	}
	if o.IfUnused && len(x.bindings) > 0 {
		vh.mu.Unlock()
		return errorf(PreconditionFailed, "exchange '%s' in vhost '%s' in use", name, vh.name)
	}
	var batch store.Batch
	vh.deleteExchangeLocked(x, &batch)
	vh.mu.Unlock()
	return vh.b.commitWait(&batch)
}

// deleteExchangeLocked removes x and its bindings; store writes go to batch.
func (vh *VHost) deleteExchangeLocked(x *Exchange, batch *store.Batch) {
	boundTo := append([]*binding(nil), x.boundTo...)
	for _, bd := range append(append([]*binding(nil), x.bindings...), boundTo...) {
		bd.src.removeBindingLocked(bd)
		if bd.src.durable && bd.dst.durable() {
			batch.DeleteMeta(store.KindBinding, bindingKey(bd))
		}
	}
	delete(vh.exchanges, x.name)
	if x.durable {
		batch.DeleteMeta(store.KindExchange, metaKey(vh.name, x.name))
	}
	// An auto-delete source whose last binding went with x goes too, as in
	// RabbitMQ (rabbit_binding:remove_for_destination, maybe_auto_delete).
	for _, bd := range boundTo {
		if src := bd.src; src.autoDelete && len(src.bindings) == 0 && vh.exchanges[src.name] == src {
			vh.deleteExchangeLocked(src, batch)
		}
	}
}

func (d destination) durable() bool {
	if d.q != nil {
		return d.q.durable
	}
	return d.x.durable
}

// Bind binds a queue (toExchange false) or an exchange to source with key.
func (s *Session) Bind(dest, source, key string, args Table, toExchange bool) error {
	return s.bindOrUnbind(dest, source, key, args, toExchange, true)
}

// Unbind removes a binding. Removing one that does not exist succeeds.
func (s *Session) Unbind(dest, source, key string, args Table, toExchange bool) error {
	return s.bindOrUnbind(dest, source, key, args, toExchange, false)
}

func (s *Session) bindOrUnbind(dest, source, key string, args Table, toExchange, bind bool) error {
	c := s.conn
	vh := c.vh
	if source == "" || (toExchange && dest == "") { // RabbitMQ checks both ends
		return errorf(AccessRefused, "operation not permitted on the default exchange")
	}
	var err error
	if toExchange {
		err = c.checkExchange(permWrite, dest)
	} else {
		err = c.checkQueue(permWrite, dest)
	}
	if err == nil {
		err = c.checkExchange(permRead, source)
	}
	if err != nil {
		return err
	}
	vh.mu.Lock()
	x := vh.exchanges[source]
	if x == nil {
		vh.mu.Unlock()
		return errorf(NotFound, "no exchange '%s' in vhost '%s'", source, vh.name)
	}
	var d destination
	if toExchange {
		if d.x = vh.exchanges[dest]; d.x == nil || dest == "" {
			vh.mu.Unlock()
			return errorf(NotFound, "no exchange '%s' in vhost '%s'", dest, vh.name)
		}
	} else {
		if d.q = vh.queues[dest]; d.q == nil {
			vh.mu.Unlock()
			return errorf(NotFound, "no queue '%s' in vhost '%s'", dest, vh.name)
		}
		if d.q.exclusive && d.q.owner != c {
			vh.mu.Unlock()
			return lockedError(d.q)
		}
	}
	if err := c.checkTopic(permRead, x, key); err != nil {
		vh.mu.Unlock()
		return err
	}
	if x.kind == KindHeaders && bind {
		if err := route.ValidHeadersArgs(args); err != nil {
			vh.mu.Unlock()
			return &Error{Code: PreconditionFailed, Msg: err.Error()}
		}
	}
	var existing *binding
	for _, bd := range x.bindings {
		if bd.same(d, key, args) {
			existing = bd
			break
		}
	}
	var batch store.Batch
	switch {
	case bind && existing == nil:
		bd := &binding{src: x, dst: d, key: key, args: args.Clone()}
		x.addBindingLocked(bd)
		if x.durable && d.durable() {
			batch.PutMeta(store.KindBinding, bindingKey(bd), encodeBinding(bd))
		}
	case !bind && existing != nil:
		x.removeBindingLocked(existing)
		if x.durable && d.durable() {
			batch.DeleteMeta(store.KindBinding, bindingKey(existing))
		}
		if x.autoDelete && len(x.bindings) == 0 {
			vh.deleteExchangeLocked(x, &batch)
		}
	}
	vh.mu.Unlock()
	return vh.b.commitWait(&batch)
}
