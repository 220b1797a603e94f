package mqtt

import (
	"bytes"
	"slices"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// Deliveries: core hands messages to a session's sources (TryDeliver, which
// never blocks); they wait in session.pending until the connection's writer
// goroutine turns them into PUBLISH packets, gives QoS 1 and 2 ones a packet
// identifier and keeps them in session.out until the client completes them
// (PUBACK; PUBREC then PUBCOMP). Core's credit (the client's Receive
// Maximum, capped by Config.Prefetch) bounds what is taken from the queues,
// so a slow client gets every QoS 1 and 2 message, late, and none is dropped.
// Settling in core happens at PUBACK, or at PUBREC for QoS 2: from then on
// only the PUBREL is resent.

// item is one message waiting to be written: a core delivery, or a retained
// message for a new subscription.
type item struct {
	d   core.Delivery // d.Message is nil for a retained item
	src *source
	ret *retained
	sub *subscription // retained items: the subscription asking
}

// outMsg is a QoS 1 or 2 delivery the client has not completed, with what
// a resend of its PUBLISH needs (kept apart rather than as a whole
// packets.Packet, which is 800 bytes, for every message in flight).
type outMsg struct {
	pid    uint16
	qos    byte
	retain bool
	rel    bool   // PUBREC came, PUBREL sent: waiting for PUBCOMP
	tag    uint64 // core delivery tag; 0 once settled, or for a retained message
	topic  string
	// payload and props are dropped once PUBREC came.
	payload []byte
	props   *packets.Properties // MQTT 5 only
}

// publish rebuilds the PUBLISH of om for a resend.
func (om *outMsg) publish(version byte) packets.Packet {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: om.qos, Retain: om.retain,
		Dup: true}, // [MQTT-3.3.1-1]
		TopicName: om.topic, Payload: om.payload, PacketID: om.pid, ProtocolVersion: version}
	pk.Mods.AllowResponseInfo = true
	if version == 5 && om.props != nil {
		pk.Properties = *om.props
	}
	return pk
}

// prepared is a packet ready to be encoded, and what to settle once written.
type prepared struct {
	pk     packets.Packet
	settle uint64 // core tag to acknowledge once written (QoS 0 from an acked consumer)
	drop   bool   // not sent (no filter matches, expired): only settle
}

const writeBatch = 256 // packets per write, at most

// keptPending is the largest pending array a session keeps once it has
// been written out: a flow of deliveries reuses it instead of growing a new
// one each time, an idle session holds a small one at most.
const keptPending = 64

// kick makes sure a writer goroutine will look at the session's pending
// deliveries.
func (c *conn) kick() {
	c.writerMu.Lock()
	if c.writing {
		c.again = true
		c.writerMu.Unlock()
		return
	}
	c.writing = true
	c.writerMu.Unlock()
	if !c.srv.workers.run(c) {
		c.writerMu.Lock()
		c.writing = false
		c.writerMu.Unlock()
	}
}

// runOn writes pending deliveries until none can be written, flushing once
// per batch: the job kick starts.
func (c *conn) runOn(w *worker) {
	buf := &w.buf
	for {
		batch := c.sess.take(c, writeBatch, w.batch[:0])
		w.batch = batch[:0] // keep what append grew
		if len(batch) == 0 {
			c.writerMu.Lock()
			if !c.again {
				c.writing = false
				c.writerMu.Unlock()
				return
			}
			c.again = false
			c.writerMu.Unlock()
			continue
		}
		buf.Reset()
		var settle []uint64
		for i := range batch {
			p := &batch[i]
			if !p.drop && !c.encodeDelivery(buf, &p.pk) {
				p.drop = true
			}
			if p.settle != 0 {
				settle = append(settle, p.settle)
			}
			if p.drop && p.pk.FixedHeader.Qos > 0 {
				if tag := c.sess.forget(p.pk.PacketID); tag != 0 {
					settle = append(settle, tag)
				}
			}
		}
		clear(batch) // the worker's batch keeps no message alive
		if buf.Len() > 0 && !c.write(buf.Bytes()) {
			c.writerMu.Lock()
			c.writing = false
			c.writerMu.Unlock()
			return
		}
		c.sess.settle(settle)
	}
}

// write writes b under the client's lock, which orders it with mochi's own
// writes. A failed write ends the connection.
func (c *conn) write(b []byte) bool {
	c.cl.Lock()
	_, err := c.nc.Write(b)
	c.cl.Unlock()
	if err != nil {
		c.abnormal.Store(!c.shutdown.Load())
		c.cl.Stop(err)
		return false
	}
	return true
}

// encodeDelivery appends the PUBLISH pk to buf with an outbound topic alias
// when the client allows them. A packet larger than the client's Maximum
// Packet Size is not sent, as if it had been delivered [MQTT-3.1.2-25]; it
// reports false then.
func (c *conn) encodeDelivery(buf *bytes.Buffer, pk *packets.Packet) bool {
	start := buf.Len()
	if err := pk.PublishEncode(buf); err != nil {
		buf.Truncate(start)
		return false
	}
	// The alias property costs at most 3 bytes more than the full topic.
	if c.maxPacket > 0 && uint32(buf.Len()-start)+3 > c.maxPacket {
		buf.Truncate(start)
		return false
	}
	c.srv.stats.delivered.Add(1)
	if c.cl.Properties.Props.TopicAliasMaximum == 0 {
		return true
	}
	alias, known := c.cl.State.TopicAliases.Outbound.Set(pk.TopicName)
	if alias == 0 {
		return true
	}
	buf.Truncate(start)
	out := *pk
	out.Properties.TopicAlias, out.Properties.TopicAliasFlag = alias, true
	if known {
		out.TopicName = "" // [MQTT-3.3.2-12]
	}
	_ = out.PublishEncode(buf)
	return true
}

// take turns up to max pending items into packets for c, giving QoS 1 and 2
// ones a packet identifier, while the client's Receive Maximum allows.
func (s *session) take(c *conn, max int, out []prepared) []prepared {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != c || s.ended {
		return nil
	}
	n := 0
	for n < len(s.pending) && len(out) < max {
		it := &s.pending[n]
		out = append(out, prepared{}) // prepared in place: it is large
		p := &out[len(out)-1]
		s.prepare(c, it, now, p)
		if !p.drop && p.pk.FixedHeader.Qos > 0 {
			if len(s.out) >= c.sendLimit {
				*p = prepared{}
				out = out[:len(out)-1]
				break // [MQTT-3.3.4-9]: wait for a PUBACK or PUBCOMP
			}
			s.track(p)
		}
		if it.src != nil && it.src.noAck {
			s.pending0--
		}
		n++
	}
	clear(s.pending[:n])
	switch {
	case n < len(s.pending):
		s.pending = s.pending[n:]
	case cap(s.pending) <= keptPending:
		s.pending = s.pending[:0] // reused by the next deliveries
	default:
		s.pending = nil
	}
	return out
}

// track gives p a packet identifier and records it as in flight.
func (s *session) track(p *prepared) {
	pid := s.nextPID
	for {
		pid++
		if pid == 0 {
			pid = 1
		}
		if _, used := s.out[pid]; !used {
			break
		}
	}
	s.nextPID = pid
	p.pk.PacketID = pid
	pk := &p.pk
	om := &outMsg{pid: pid, qos: pk.FixedHeader.Qos, retain: pk.FixedHeader.Retain, tag: p.settle,
		topic: pk.TopicName, payload: pk.Payload}
	if pk.ProtocolVersion == 5 {
		props := pk.Properties
		om.props = &props
	}
	p.settle = 0 // settled when the client acknowledges
	s.out[pid] = om
	s.outList = append(s.outList, om)
}

// forget removes an in-flight message that was not sent after all and
// returns its core tag.
func (s *session) forget(pid uint16) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	om := s.out[pid]
	if om == nil {
		return 0
	}
	delete(s.out, pid)
	s.unlistLocked(om)
	return om.tag
}

// unlistLocked removes om from outList, compacting it now and then.
func (s *session) unlistLocked(om *outMsg) {
	if i := slices.Index(s.outList, om); i >= 0 {
		s.outList[i] = nil
	}
	for len(s.outList) > 0 && s.outList[0] == nil {
		s.outList = s.outList[1:]
	}
	if len(s.outList) > 64 && len(s.outList) > 2*len(s.out) {
		s.outList = slices.DeleteFunc(s.outList, func(o *outMsg) bool { return o == nil })
	}
}

// topicOfKey is a routing key and the topic it maps to.
type topicOfKey struct{ key, topic string }

// topicOf maps a delivery's routing key to its topic name, remembering the
// last one for every session: a message fanned out to many subscribers, and
// a flow of messages to one topic, are mapped once.
func (s *Server) topicOf(key string) string {
	if t := s.lastTopic.Load(); t != nil && t.key == key {
		return t.topic
	}
	t := &topicOfKey{key: key, topic: keyToTopic(key)}
	s.lastTopic.Store(t)
	return t.topic
}

// prepare builds the PUBLISH of one item for c (MQTT 3 or 5): its topic,
// its QoS capped by the subscriptions, its properties. The caller holds mu.
func (s *session) prepare(c *conn, it *item, now time.Time, p *prepared) {
	pk := &p.pk
	pk.FixedHeader.Type = packets.Publish
	pk.ProtocolVersion = c.cl.Properties.ProtocolVersion
	pk.Mods.AllowResponseInfo = true // send Response Topic and Correlation Data
	if it.ret != nil {
		r := it.ret
		pk.TopicName, pk.Payload = r.Topic, r.Payload
		pk.FixedHeader.Qos = min(r.QoS, it.sub.qos)
		pk.FixedHeader.Retain = true // retained because of a new subscription [MQTT-3.3.1-9]
		if c.v5 {
			pk.Properties = r.Props
			pk.Properties.MessageExpiryInterval = r.remaining(now)
			if it.sub.id > 0 {
				pk.Properties.SubscriptionIdentifier = []int{it.sub.id}
			}
		}
		if r.expired(now) {
			p.drop = true
		}
		return
	}
	d := &it.d
	if !it.src.noAck {
		p.settle = d.Tag
	}
	m := d.Message
	topic := c.srv.topicOf(m.RoutingKey)
	dm := fromMessage(m, now, c.v5)
	var maxQoS byte
	var rap, matched bool
	var ids []int
	consider := func(sub *subscription) {
		if sub.noLocal && dm.origin == s.clientID {
			return // [MQTT-3.8.3-3]
		}
		matched = true
		maxQoS = max(maxQoS, sub.qos)
		rap = rap || sub.rap
		if sub.id > 0 && !slices.Contains(ids, sub.id) {
			ids = append(ids, sub.id)
		}
	}
	if it.src.kind == kindShared {
		if sub := it.src.sub; sub != nil && s.subs[sub.filter] == sub && matchFilter(sub.topic, topic) {
			consider(sub)
		}
	} else {
		for _, sub := range s.subs {
			if sub.group == "" && (sub.qos > 0) == (it.src.kind == kindQoS1) && matchFilter(sub.topic, topic) {
				consider(sub)
			}
		}
	}
	if !matched || dm.expired {
		p.drop = true
		return
	}
	pk.TopicName, pk.Payload = topic, m.Body
	pk.FixedHeader.Qos = min(dm.qos, maxQoS) // [MQTT-3.8.4-8]
	pk.FixedHeader.Retain = dm.retain && rap // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
	if c.v5 {
		pk.Properties = dm.props
		slices.Sort(ids)
		pk.Properties.SubscriptionIdentifier = ids // [MQTT-3.3.4-3]
	}
}

// settle acknowledges core deliveries.
func (s *session) settle(tags []uint64) {
	if len(tags) == 0 {
		return
	}
	s.life.Lock()
	cs := s.cs
	s.life.Unlock()
	if cs == nil {
		return
	}
	for _, t := range tags {
		_ = cs.Ack(t, false) // an unknown tag was requeued by a session change
	}
}

// resend writes again, in their order, the deliveries an earlier connection
// did not complete: PUBLISH with DUP set, or PUBREL [MQTT-4.4.0-1].
func (c *conn) resend(oms []*outMsg) {
	if len(oms) == 0 {
		return
	}
	var buf bytes.Buffer
	for _, om := range oms {
		if om.rel {
			rel := c.pubrel(om.pid, packets.CodeSuccess)
			_ = rel.PubrelEncode(&buf)
			continue
		}
		pk := om.publish(c.cl.Properties.ProtocolVersion)
		_ = pk.PublishEncode(&buf)
	}
	c.write(buf.Bytes())
}

// pubrel builds a PUBREL.
func (c *conn) pubrel(pid uint16, code packets.Code) packets.Packet {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1}, PacketID: pid,
		ReasonCode: code.Code, ProtocolVersion: c.cl.Properties.ProtocolVersion}
	if code.Code >= packets.ErrUnspecifiedError.Code {
		pk.Properties.ReasonString = code.Reason
	}
	return pk
}

// completed ends the flow of delivery pid at PUBACK (qos 1) or PUBCOMP
// (qos 2). An identifier not in flight is ignored, as mochi does.
func (c *conn) completed(pid uint16, qos byte) {
	s := c.sess
	s.mu.Lock()
	om := s.out[pid]
	valid := om != nil && (qos == 1 && !om.rel && om.qos == 1 || qos == 2 && om.rel)
	if !valid {
		s.mu.Unlock()
		return
	}
	delete(s.out, pid)
	s.unlistLocked(om)
	tag := om.tag
	more := len(s.pending) > 0
	s.mu.Unlock()
	if tag != 0 {
		s.settle([]uint64{tag})
	}
	if more {
		c.kick()
	}
}

// received handles PUBREC for a QoS 2 delivery: the client has the message,
// so it is settled in core, and PUBREL follows. A failure reason code ends
// the flow and rejects the message (dead-lettered if the queue says so).
func (c *conn) received(pk *packets.Packet) {
	s := c.sess
	s.mu.Lock()
	om := s.out[pk.PacketID]
	if om == nil || om.rel || om.qos != 2 {
		s.mu.Unlock()
		_ = c.cl.WritePacket(c.pubrel(pk.PacketID, packets.ErrPacketIdentifierNotFound)) // [MQTT-4.3.3-8]
		return
	}
	tag := om.tag
	om.tag = 0
	failed := pk.ReasonCode >= packets.ErrUnspecifiedError.Code
	more := false
	if failed {
		delete(s.out, om.pid)
		s.unlistLocked(om)
		more = len(s.pending) > 0
	} else {
		om.rel, om.payload, om.props = true, nil, nil
	}
	s.mu.Unlock()
	if failed {
		if tag != 0 {
			s.life.Lock()
			cs := s.cs
			s.life.Unlock()
			if cs != nil {
				_ = cs.Nack(tag, core.NackOptions{})
			}
		}
		if more {
			c.kick()
		}
		return
	}
	if tag != 0 {
		s.settle([]uint64{tag})
	}
	_ = c.cl.WritePacket(c.pubrel(pk.PacketID, packets.CodeSuccess)) // [MQTT-4.3.3-4]
}

// released handles PUBREL pid. mochi answers it from its in-flight list
// while the identifier is there; a PUBREL the client sends again because the
// PUBCOMP was lost with its connection finds it gone, and gets PUBCOMP
// success from here rather than 0x92, as long as the identifier is among the
// session's recently completed ones.
func (c *conn) released(pid uint16) bool {
	s := c.sess
	s.mu.Lock()
	_, inflight := s.inQoS2[pid]
	delete(s.inQoS2, pid)
	again := !inflight && s.recentRel.has(pid)
	if inflight {
		s.recentRel.add(pid)
	}
	s.mu.Unlock()
	if again {
		comp := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: pid}
		_ = c.cl.WritePacket(comp)
	}
	return again
}

// pidRing remembers the last few packet identifiers whose QoS 2 flow ended.
type pidRing struct {
	ids  [32]uint16
	next int
}

func (r *pidRing) add(pid uint16) {
	r.ids[r.next] = pid
	r.next = (r.next + 1) % len(r.ids)
}

func (r *pidRing) has(pid uint16) bool {
	return pid != 0 && slices.Contains(r.ids[:], pid)
}

// forget drops pid: a new PUBLISH uses it again.
func (r *pidRing) forget(pid uint16) {
	for i, id := range r.ids {
		if id == pid {
			r.ids[i] = 0
		}
	}
}
