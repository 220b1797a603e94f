package mqtt

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// Inbound publishes: each PUBLISH goes into core as it is read, without
// waiting for the previous one to be confirmed, so that many are in the
// store's group commit at once. The PUBACK (QoS 1) or PUBREC (QoS 2) of each
// is written once core confirms it safe — on disk, for a persistent message
// in a durable queue — and, for a retained message, once the retained copy
// is stored too; acknowledgements leave in the order the PUBLISHes came
// [MQTT-4.6.0-2] [MQTT-4.6.0-3]. At most Config.ReceiveMaximum wait at a
// time; beyond that the connection is not read.

// receivePublish handles a PUBLISH after the checks mochi's processPacket
// and processPublish (server.go, v2.7.9) make before their OnPublish hook.
// mochi's receive quota is left out: this package keeps the client to the
// Receive Maximum itself (publish), by not reading beyond it.
func (c *conn) receivePublish(pk *packets.Packet) error {
	if pk.FixedHeader.Qos == 2 && c.retransmitted(pk) {
		return nil
	}
	caps := c.srv.mochi.Options.Capabilities
	if code := pk.PublishValidate(caps.TopicAliasMaximum); code != packets.CodeSuccess {
		return code
	}
	if !mochi.IsValidFilter(pk.TopicName, true) {
		// A $SYS topic [MQTT-4.7.2-1]: mochi drops the message without an
		// answer, which leaves a QoS 1 or 2 publisher waiting.
		c.refuse(pk, packets.ErrTopicNameInvalid, "clients do not publish to $SYS topics")
		return nil
	}
	if pki, ok := c.cl.State.Inflight.Get(pk.PacketID); ok {
		// mochi's in-flight list holds the PUBRECs it answers PUBREL from.
		if pki.FixedHeader.Type == packets.Pubrec { // [MQTT-4.3.3-10]
			return c.cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec},
				PacketID: pk.PacketID, ReasonCode: packets.ErrPacketIdentifierInUse.Code,
				Properties: packets.Properties{ReasonString: packets.ErrPacketIdentifierInUse.Reason}})
		}
		if c.cl.State.Inflight.Delete(pk.PacketID) { // [MQTT-4.3.2-5]
			atomic.AddInt64(&c.srv.mochi.Info.Inflight, -1)
		}
	}
	if pk.Properties.TopicAliasFlag && pk.Properties.TopicAlias > 0 { // [MQTT-3.3.2-11]
		pk.TopicName = c.cl.State.TopicAliases.Inbound.Set(pk.Properties.TopicAlias, pk.TopicName)
	}
	if pk.FixedHeader.Qos > caps.MaximumQos {
		pk.FixedHeader.Qos = caps.MaximumQos // [MQTT-3.2.2-9]
	}
	c.publish(pk)
	return nil
}

// publish publishes a checked PUBLISH into core. A refusal is answered here
// (refuse).
func (c *conn) publish(pk *packets.Packet) {
	srv := c.srv
	s := c.sess
	qos := pk.FixedHeader.Qos
	// Acks due from this burst are written before either wait, so that the
	// client has them.
	srv.flow.wait(srv.done, c.flushAcks)
	if qos > 0 {
		c.acks.waitSpace(int(srv.cfg.ReceiveMaximum), srv.done, c.flushAcks)
	}
	srv.stats.received.Add(1)
	a := &appMsg{topic: pk.TopicName, qos: qos, retain: pk.FixedHeader.Retain, payload: pk.Payload,
		props: messageProps(&pk.Properties)}
	if !allowed(srv.cfg.ACL, c.subject(), false, a.topic) {
		c.refuse(pk, packets.ErrNotAuthorized, "publishing to this topic is not allowed")
		return
	}
	s.life.Lock()
	cs := s.cs
	s.life.Unlock()
	if cs == nil {
		c.refuse(pk, packets.ErrUnspecifiedError, "no session")
		return
	}
	var ak *ack
	if qos > 0 {
		ak = &ack{c: c, pid: pk.PacketID, qos: qos}
		ak.waiting.Store(1)
		if a.retain {
			ak.waiting.Store(2)
		}
		c.acks.add(ak)
		if qos == 2 {
			s.mu.Lock()
			s.inQoS2[ak.pid] = ak
			s.recentRel.forget(ak.pid)
			s.mu.Unlock()
		}
	}
	opts := core.PublishOptions{}
	if ak != nil {
		opts.Confirm = ak.confirm
	}
	if a.retain {
		done := func(error) {}
		if ak != nil {
			done = ak.confirm
		}
		// Before any subscriber has the message: one that sees it and then
		// subscribes finds it retained.
		opts.Accepted = func() { srv.retained.set(c.vhost, newRetained(a, time.Now()), done) }
	}
	c.inPublish.Store(true)
	_, err := cs.Publish(toMessage(a, srv.cfg.Exchange, c.clientID), opts)
	c.inPublish.Store(false)
	if err != nil {
		c.log.Info("mqtt: publish refused", "topic", a.topic, "err", err)
		if ak == nil {
			c.refuse(pk, reasonFor(err), errorText(err))
			return
		}
		ak.fail(reasonFor(err), errorText(err))
	}
	if ak != nil {
		// Due acks are written when the burst of packets this one came in
		// ends (handler.burst), or, when core confirms later, by a job kick
		// starts: under load, one write for many PUBACKs.
		c.acksDue = true
	}
}

// flushAcks writes the acks that became due during this burst of packets.
func (c *conn) flushAcks() {
	if c.acksDue {
		c.acksDue = false
		c.acks.flush()
	}
}

// refuse answers a PUBLISH that core or the ACL refused: a negative PUBACK or
// PUBREC for MQTT 5 at QoS 1 and 2; otherwise the connection ends (MQTT 5
// with DISCONNECT and the reason), as RabbitMQ's disconnect_on_unauthorized.
func (c *conn) refuse(pk *packets.Packet, code packets.Code, reason string) {
	if c.v5 && pk.FixedHeader.Qos > 0 {
		ak := &ack{c: c, pid: pk.PacketID, qos: pk.FixedHeader.Qos}
		ak.fail(code, reason)
		c.acks.add(ak)
		c.acks.flush()
		return
	}
	c.abnormal.Store(true)
	if c.v5 {
		_ = c.srv.mochi.DisconnectClient(c.cl, code)
	} else {
		c.cl.Stop(code)
	}
}

// errorText is the reason string of a core error.
func errorText(err error) string {
	var ce *core.Error
	s := err.Error()
	if errors.As(err, &ce) {
		s = ce.Msg
	}
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}

// retransmitted handles a QoS 2 PUBLISH whose packet identifier is still
// between PUBLISH and PUBREL: the message is not published again
// [MQTT-4.3.3-10]; the PUBREC is written again once the first is due.
func (c *conn) retransmitted(pk *packets.Packet) bool {
	s := c.sess
	s.mu.Lock()
	orig, ok := s.inQoS2[pk.PacketID]
	s.mu.Unlock()
	if !ok {
		return false
	}
	w := &ack{c: c, pid: pk.PacketID, qos: 2}
	w.waiting.Store(1)
	c.acks.add(w)
	if orig == nil || !orig.addWaiter(w) {
		w.confirm(nil) // the first one was confirmed already
	}
	c.acks.flush()
	return true
}

// ack is the PUBACK or PUBREC owed for one QoS 1 or 2 PUBLISH.
type ack struct {
	c       *conn
	pid     uint16
	qos     byte
	waiting atomic.Int32 // confirmations still to come
	done    atomic.Bool
	failure atomic.Pointer[ackFailure]

	mu       sync.Mutex
	finished bool
	waiters  []*ack // retransmissions of this QoS 2 PUBLISH
}

type ackFailure struct {
	code   packets.Code
	reason string
}

// confirm is core's Confirm (and the retained store's done): the last one
// makes the ack due. It never blocks.
func (a *ack) confirm(err error) {
	if err != nil {
		a.failure.CompareAndSwap(nil, &ackFailure{code: reasonFor(err), reason: errorText(err)})
	}
	if a.waiting.Add(-1) == 0 {
		a.finish()
	}
}

// fail makes the ack due now, negative.
func (a *ack) fail(code packets.Code, reason string) {
	a.failure.CompareAndSwap(nil, &ackFailure{code: code, reason: reason})
	a.waiting.Store(0)
	a.finish()
}

func (a *ack) finish() {
	c := a.c
	if a.qos == 2 && c.sess != nil {
		s := c.sess
		s.mu.Lock()
		if cur, ok := s.inQoS2[a.pid]; ok && cur == a {
			if a.failure.Load() != nil {
				delete(s.inQoS2, a.pid) // no PUBREL follows a failed PUBREC
			} else {
				s.inQoS2[a.pid] = nil
			}
		}
		s.mu.Unlock()
	}
	a.mu.Lock()
	a.finished = true
	ws := a.waiters
	a.waiters = nil
	a.mu.Unlock()
	a.done.Store(true)
	for _, w := range ws {
		if f := a.failure.Load(); f != nil {
			w.failure.CompareAndSwap(nil, f)
		}
		w.waiting.Store(0)
		w.done.Store(true)
		w.c.acks.kick()
	}
	if !c.inPublish.Load() {
		c.acks.kick() // else the burst it came in writes it when it ends
	}
}

// addWaiter makes w due with a, unless a is finished already.
func (a *ack) addWaiter(w *ack) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.finished {
		if f := a.failure.Load(); f != nil {
			w.failure.CompareAndSwap(nil, f)
		}
		return false
	}
	a.waiters = append(a.waiters, w)
	return true
}

// ackQueue holds a connection's acks in the order of their PUBLISHes and
// writes the due ones from the head, one writer at a time.
type ackQueue struct {
	c       *conn
	mu      sync.Mutex
	list    []*ack
	writing bool
	closed  bool
	space   chan struct{} // signalled when acks leave the queue
}

func (q *ackQueue) add(a *ack) {
	q.mu.Lock()
	if !q.closed {
		q.list = append(q.list, a)
	}
	q.mu.Unlock()
}

// waitSpace returns when fewer than max acks wait, or done is closed.
// before runs once, first, if it has to wait.
func (q *ackQueue) waitSpace(max int, done <-chan struct{}, before func()) {
	for {
		q.mu.Lock()
		full := len(q.list) >= max && !q.closed
		q.mu.Unlock()
		if !full {
			return
		}
		if before != nil {
			before() // it may make room
			before = nil
			continue
		}
		select {
		case <-q.space:
		case <-done:
			return
		}
	}
}

// kick has the due acks written by a goroutine, if none is writing.
func (q *ackQueue) kick() {
	q.mu.Lock()
	idle := !q.writing && !q.closed && len(q.list) > 0 && q.list[0].done.Load()
	q.mu.Unlock()
	if idle {
		q.c.srv.workers.run(q)
	}
}

// runOn is the job kick starts.
func (q *ackQueue) runOn(*worker) { q.flush() }

// flush writes the due acks at the head of the queue, unless another
// goroutine is doing so (it will look again before it stops).
func (q *ackQueue) flush() {
	q.mu.Lock()
	if q.writing || q.closed {
		q.mu.Unlock()
		return
	}
	q.writing = true
	for {
		n := 0
		for n < len(q.list) && q.list[n].done.Load() {
			n++
		}
		if n == 0 || q.closed {
			q.writing = false
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(q.list[:n])
		clear(q.list[:n])
		q.list = q.list[n:]
		q.mu.Unlock()
		select {
		case q.space <- struct{}{}:
		default:
		}
		ok := q.c.writeAcks(batch)
		q.mu.Lock()
		if !ok {
			q.closed, q.list = true, nil
		}
	}
}

// close drops what is left: the connection is gone.
func (q *ackQueue) close() {
	q.mu.Lock()
	q.closed, q.list = true, nil
	q.mu.Unlock()
	select {
	case q.space <- struct{}{}:
	default:
	}
}

// writeAcks writes PUBACKs and PUBRECs. A refused publish of an MQTT 3
// client, which has no negative acknowledgement, ends the connection.
func (c *conn) writeAcks(batch []*ack) bool {
	var buf bytes.Buffer
	noProblemInfo := c.cl.Properties.Props.RequestProblemInfoFlag && c.cl.Properties.Props.RequestProblemInfo == 0
	for _, a := range batch {
		f := a.failure.Load()
		if f != nil && !c.v5 {
			if buf.Len() > 0 {
				c.write(buf.Bytes())
			}
			c.abnormal.Store(true)
			c.cl.Stop(f.code)
			return false
		}
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: a.pid,
			ProtocolVersion: c.cl.Properties.ProtocolVersion}
		if a.qos == 2 {
			pk.FixedHeader.Type = packets.Pubrec
			if f == nil {
				// mochi answers the PUBREL from its in-flight list.
				c.cl.State.Inflight.Set(pubrecPacket(a.pid))
			}
		}
		if f != nil {
			pk.ReasonCode = f.code.Code
			pk.Properties.ReasonString = f.reason
			pk.Mods.DisallowProblemInfo = noProblemInfo // [MQTT-3.1.2-29]
		}
		_ = pk.PubackEncode(&buf) // the same encoding for PUBACK and PUBREC
	}
	return c.write(buf.Bytes())
}
