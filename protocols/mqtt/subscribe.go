package mqtt

import (
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// Subscriptions are core bindings on the vhost's MQTT exchange, as in
// RabbitMQ: from the session's queue mqtt-subscription-<client id>qos0 (QoS 0
// subscriptions, consumed without acknowledgement) or ...qos1 (QoS 1 and 2,
// consumed with credit), durable for a persistent session and exclusive to
// the session otherwise. A shared subscription $share/<group>/<filter> is
// bound from one queue per group and filter, mqtt-shared-<group>/<filter>,
// which every member session consumes: competing consumers.

// subscription is one topic filter of a session and its options.
type subscription struct {
	filter string // as subscribed, with any $share/<group>/ prefix
	topic  string // the topic filter proper
	group  string // shared subscription group; "" for a normal subscription
	qos    byte
	noLocal,
	rap bool // Retain As Published
	rh    byte // Retain Handling
	id    int  // Subscription Identifier; 0 none
	queue string
	key   string  // binding key
	src   *source // shared subscriptions: the session's consumer of the group queue
}

func newSubscription(filter string, qos byte, noLocal, rap bool, rh byte, id int) *subscription {
	sub := &subscription{filter: filter, topic: filter, qos: qos, noLocal: noLocal, rap: rap, rh: rh, id: id}
	if g, inner, ok := splitShared(filter); ok {
		sub.group, sub.topic = g, inner
	}
	return sub
}

// maxQueueName is AMQP's short string limit for a queue name.
const maxQueueName = 255

// queueName is the name of a session queue: 0 for QoS 0 subscriptions, 1
// for QoS 1 and 2 ones. A client identifier too long for a queue name is
// replaced by its SHA-256.
func queueName(clientID string, i int) string {
	suffix := "qos0"
	if i == 1 {
		suffix = "qos1"
	}
	name := "mqtt-subscription-" + clientID + suffix
	if len(name) > maxQueueName {
		sum := sha256.Sum256([]byte(clientID))
		name = "mqtt-subscription-" + hex.EncodeToString(sum[:]) + suffix
	}
	return name
}

// sharedQueueName names the queue of a shared subscription. A group holds
// no '/', so the first '/' separates it from the filter.
func sharedQueueName(group, filter string) string {
	name := "mqtt-shared-" + group + "/" + filter
	if len(name) > maxQueueName {
		sum := sha256.Sum256([]byte(group + "/" + filter))
		name = "mqtt-shared-" + hex.EncodeToString(sum[:])
	}
	return name
}

func sharedKey(vhost, queue string) string { return vhost + "\x00" + queue }

// placeSub decides the queue and binding key of sub.
func (s *session) placeSub(sub *subscription) {
	sub.key = filterToKey(sub.topic)
	switch {
	case sub.group != "":
		sub.queue = sharedQueueName(sub.group, sub.topic)
	case sub.qos == 0:
		sub.queue = queueName(s.clientID, 0)
	default:
		sub.queue = queueName(s.clientID, 1)
	}
}

// subscribed binds what mochi granted in a SUBACK about to be written; a
// binding core refuses turns the granted QoS in reasonCodes into a failure.
func (c *conn) subscribed(pk packets.Packet, reasonCodes []byte) {
	s := c.sess
	if s == nil {
		return
	}
	srv := c.srv
	s.life.Lock()
	defer s.life.Unlock()
	changed := false
	for i, f := range pk.Filters {
		if i >= len(reasonCodes) || reasonCodes[i] > 2 {
			continue
		}
		// Subscriptions live here; mochi's own index stays empty, so that
		// mochi never delivers anything itself.
		srv.mochi.Topics.Unsubscribe(f.Filter, c.cl.ID)
		c.cl.State.Subscriptions.Delete(f.Filter)
		if !validFilter(f.Filter) {
			reasonCodes[i] = c.failure(packets.ErrTopicFilterInvalid)
			continue
		}
		sub := newSubscription(f.Filter, f.Qos, f.NoLocal, f.RetainAsPublished, f.RetainHandling, f.Identifier)
		existed, err := s.subscribe(sub)
		if err != nil {
			c.log.Info("mqtt: subscription refused", "filter", f.Filter, "err", err)
			reasonCodes[i] = c.failure(reasonFor(err))
			continue
		}
		changed = true
		// [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]; none for a shared
		// subscription (MQTT 5 §4.8.2). The retained messages are the ones
		// there now, with the binding made: one retained later reaches the
		// subscription live, and must not come again as retained when the
		// SUBACK has been written.
		if sub.group == "" && (sub.rh == 0 || sub.rh == 1 && !existed) {
			for _, r := range srv.retained.match(c.vhost, sub.topic, time.Now()) {
				c.retainedTodo = append(c.retainedTodo, item{ret: r, sub: sub})
			}
		}
	}
	if changed && s.persistent {
		s.save(0)
	}
}

// failure is a SUBACK failure code: MQTT 3 has only 0x80.
func (c *conn) failure(code packets.Code) byte {
	if !c.v5 {
		return packets.ErrUnspecifiedError.Code
	}
	return code.Code
}

// subscribe adds or replaces a subscription; existed reports that the
// filter was already subscribed. The caller holds life.
func (s *session) subscribe(sub *subscription) (existed bool, err error) {
	s.placeSub(sub)
	s.mu.Lock()
	old := s.subs[sub.filter]
	s.mu.Unlock()
	if old != nil && old.queue == sub.queue {
		if sub.group != "" {
			if (old.qos == 0) == (sub.qos == 0) && old.src != nil {
				s.mu.Lock()
				sub.src, old.src.sub = old.src, sub
				s.mu.Unlock()
			} else if err := s.restartShared(old, sub); err != nil {
				return true, err
			}
		}
		s.mu.Lock()
		s.subs[sub.filter] = sub
		s.mu.Unlock()
		return true, nil
	}
	if err := s.bindSub(sub); err != nil {
		return old != nil, err
	}
	if old != nil {
		s.unbindSub(old)
	}
	s.mu.Lock()
	s.subs[sub.filter] = sub
	s.mu.Unlock()
	return old != nil, nil
}

// restartShared replaces the consumer of a shared subscription whose QoS
// moved between 0 (no acknowledgement) and 1 or 2.
func (s *session) restartShared(old, sub *subscription) error {
	if old.src != nil {
		_ = s.cs.Cancel(old.src.tag)
		old.src = nil
	}
	return s.consume(sub.queue, newSource(s, kindShared, sub))
}

// bindSub declares the queue of sub and binds it.
func (s *session) bindSub(sub *subscription) error {
	if s.cs == nil {
		return &core.Error{Code: core.PreconditionFailed, Msg: "session not attached"}
	}
	if sub.group != "" {
		if err := s.declare(sub.queue, core.QueueOptions{Durable: s.persistent}); err != nil {
			return err
		}
		if err := s.cs.Bind(sub.queue, s.srv.cfg.Exchange, sub.key, nil, false); err != nil {
			return err
		}
		s.srv.joinShared(s.vhost, sub.queue)
		if err := s.consume(sub.queue, newSource(s, kindShared, sub)); err != nil {
			s.srv.leaveShared(s.cs, s.vhost, sub.queue)
			return err
		}
		return nil
	}
	i := 0
	if sub.qos > 0 {
		i = 1
	}
	if err := s.ensureQueue(i); err != nil {
		return err
	}
	return s.cs.Bind(sub.queue, s.srv.cfg.Exchange, sub.key, nil, false)
}

// unbindSub removes the binding of sub and, for a shared subscription, the
// session's membership of the group.
func (s *session) unbindSub(sub *subscription) {
	if s.cs == nil {
		return
	}
	if err := s.cs.Unbind(sub.queue, s.srv.cfg.Exchange, sub.key, nil, false); err != nil {
		s.srv.log.Warn("mqtt: unbind", "queue", sub.queue, "key", sub.key, "err", err)
	}
	if sub.group != "" {
		if sub.src != nil {
			_ = s.cs.Cancel(sub.src.tag)
		}
		s.srv.leaveShared(s.cs, s.vhost, sub.queue)
	}
}

// ensureQueue declares session queue i and starts its consumer, once.
func (s *session) ensureQueue(i int) error {
	q := &s.queues[i]
	if q.declared && q.src != nil && !q.src.dead.Load() {
		return nil
	}
	name := queueName(s.clientID, i)
	opts := core.QueueOptions{Durable: s.persistent, Exclusive: !s.persistent}
	if i == 0 {
		// QoS 0 messages of an offline persistent session: the newest are
		// kept, up to the QoS 0 buffer (RabbitMQ drops them all).
		opts.Args = core.Table{"x-max-length": int64(s.srv.cfg.QoS0Buffer), "x-overflow": "drop-head"}
	}
	if err := s.declare(name, opts); err != nil {
		return err
	}
	q.name, q.declared = name, true
	kind := kindQoS0
	if i == 1 {
		kind = kindQoS1
	}
	src := newSource(s, kind, nil)
	if err := s.consume(name, src); err != nil {
		return err
	}
	q.src = src
	return nil
}

// declare declares a queue; one that exists with other options (the
// session changed between persistent and not, the configuration changed) is
// used as it is.
func (s *session) declare(name string, opts core.QueueOptions) error {
	_, err := s.cs.DeclareQueue(name, opts)
	if err == nil {
		return nil
	}
	if c := core.CodeOf(err); c != core.PreconditionFailed && c != core.ResourceLocked {
		return err
	}
	if _, perr := s.cs.DeclareQueue(name, core.QueueOptions{Passive: true}); perr != nil {
		return err
	}
	return nil
}

// consume starts src on queue.
func (s *session) consume(queue string, src *source) error {
	if src.sub != nil {
		src.sub.src = src
	}
	cons, err := s.cs.Consume(queue, core.ConsumeOptions{Tag: src.tag, NoAck: src.noAck}, src)
	if err != nil {
		if src.sub != nil {
			src.sub.src = nil
		}
		return err
	}
	src.consumer = cons
	return nil
}

// startConsumers starts or resumes the consumers of every subscription when
// a connection attaches. The caller holds life.
func (s *session) startConsumers() {
	s.mu.Lock()
	subs := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	var need [2]bool
	for _, sub := range subs {
		switch {
		case sub.group != "":
			if sub.src == nil || sub.src.dead.Load() {
				if err := s.declare(sub.queue, core.QueueOptions{Durable: s.persistent}); err != nil {
					s.srv.log.Warn("mqtt: shared subscription queue", "queue", sub.queue, "err", err)
					continue
				}
				if err := s.consume(sub.queue, newSource(s, kindShared, sub)); err != nil {
					s.srv.log.Warn("mqtt: consume", "queue", sub.queue, "err", err)
				}
			} else {
				sub.src.consumer.Resume()
			}
		case sub.qos == 0:
			need[0] = true
		default:
			need[1] = true
		}
	}
	for i := range s.queues {
		q := &s.queues[i]
		switch {
		case q.declared && q.src != nil && !q.src.dead.Load():
			q.src.consumer.Resume()
		case need[i]:
			if err := s.ensureQueue(i); err != nil {
				s.srv.log.Warn("mqtt: session queue", "client", s.clientID, "err", err)
			}
		}
	}
}

// joinShared counts a member of a shared subscription queue.
func (srv *Server) joinShared(vhost, queue string) {
	srv.mu.Lock()
	srv.shared[sharedKey(vhost, queue)]++
	srv.mu.Unlock()
}

// leaveShared uncounts a member; the last one deletes the queue.
func (srv *Server) leaveShared(cs *core.Session, vhost, queue string) {
	k := sharedKey(vhost, queue)
	srv.mu.Lock()
	srv.shared[k]--
	last := srv.shared[k] <= 0
	if last {
		delete(srv.shared, k)
	}
	srv.mu.Unlock()
	if last {
		if _, err := cs.DeleteQueue(queue, core.DeleteQueueOptions{}); err != nil {
			srv.log.Warn("mqtt: delete shared subscription queue", "queue", queue, "err", err)
		}
	}
}

// unsubscribe removes the filters of an UNSUBSCRIBE and keeps the reason
// codes for the UNSUBACK (packetEncode).
func (c *conn) unsubscribe(pk packets.Packet) {
	s := c.sess
	codes := make([]byte, len(pk.Filters))
	c.unsubackCodes = codes
	if s == nil {
		return
	}
	s.life.Lock()
	defer s.life.Unlock()
	changed := false
	for i, f := range pk.Filters {
		s.mu.Lock()
		sub := s.subs[f.Filter]
		delete(s.subs, f.Filter)
		s.mu.Unlock()
		if sub == nil {
			codes[i] = packets.CodeNoSubscriptionExisted.Code
			continue
		}
		s.unbindSub(sub)
		changed = true
	}
	if changed && s.persistent {
		s.save(0)
	}
}

// sendRetained queues the retained messages found by the subscriptions of
// the SUBACK just written.
func (c *conn) sendRetained() {
	items := c.retainedTodo
	c.retainedTodo = nil
	if len(items) == 0 {
		return
	}
	s := c.sess
	s.mu.Lock()
	if s.cur == c && !s.ended {
		s.pending = append(s.pending, items...)
	}
	s.mu.Unlock()
	c.kick()
}

// Kinds of source.
const (
	kindQoS0 = iota
	kindQoS1
	kindShared
)

// source is one consumer of a session: the Sink core hands deliveries to.
type source struct {
	s        *session
	kind     int
	sub      *subscription // kindShared: the subscription (guarded by s.mu)
	noAck    bool
	tag      string
	consumer *core.Consumer
	dead     atomic.Bool // its queue was deleted
}

func newSource(s *session, kind int, sub *subscription) *source {
	src := &source{s: s, kind: kind, sub: sub}
	switch kind {
	case kindQoS0:
		src.tag, src.noAck = "mqtt-qos0", true
	case kindQoS1:
		src.tag = "mqtt-qos1"
	default:
		src.tag, src.noAck = "mqtt-share:"+sub.filter, sub.qos == 0
	}
	return src
}

// TryDeliver queues a delivery for the session's connection. Offline, it
// refuses: the message stays in its queue and the consumer waits for
// Resume. A QoS 0 delivery beyond the QoS 0 buffer is dropped and counted.
func (src *source) TryDeliver(d *core.Delivery) bool {
	s := src.s
	s.mu.Lock()
	c := s.cur
	if c == nil || s.ended {
		s.mu.Unlock()
		return false
	}
	if src.noAck {
		if s.pending0 >= s.srv.cfg.QoS0Buffer {
			s.mu.Unlock()
			s.srv.stats.qos0Dropped.Add(1)
			return true
		}
		s.pending0++
	}
	s.pending = append(s.pending, item{d: *d, src: src})
	s.mu.Unlock()
	c.kick()
	return true
}

// Cancelled reports that the queue went away (deleted by another client).
func (src *source) Cancelled(err error) {
	src.dead.Store(true)
	src.s.srv.log.Info("mqtt: subscription queue deleted", "client", src.s.clientID, "consumer", src.tag, "err", err)
}
