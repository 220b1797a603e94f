package amqp

import (
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// consumer is a basic.consume subscription and its core.Sink. Core calls
// the sink under the session's delivery lock, in delivery-tag order, from
// whichever goroutine dispatches the queue; the sink encodes basic.deliver
// straight into the connection's send buffer, or refuses when it may not
// send now. A refused delivery stays in its queue and the consumer gets
// nothing more until resumed: when channel.flow turns deliveries back on,
// or when the writer has drained the buffer.
type consumer struct {
	ch    *channel
	tag   string
	noAck bool

	// Guarded by ch.c.mu.
	core      *core.Consumer // set once Consume has returned
	cancelled bool           // basic.cancel(-ok) is queued: nothing may follow it
	refused   bool           // a delivery was refused: resume when the reason clears
	deliver   wire.BasicDeliver
	props     wire.Properties // scratch space of TryDeliver, which encodes under c.mu
}

// TryDeliver implements core.Sink.
func (s *consumer) TryDeliver(d *core.Delivery) bool {
	ch := s.ch
	c := ch.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.cancelled || ch.closed || c.out.dead || c.out.ending {
		return false
	}
	if ch.flowPaused {
		s.refused = true
		return false
	}
	if !ch.hold.active && len(c.out.buf) >= deliveryHighWater {
		if !s.refused && s.core != nil {
			c.out.paused = append(c.out.paused, s)
		}
		s.refused = true
		return false
	}
	m := d.Message
	s.props = toWire(&m.Properties)
	s.deliver = wire.BasicDeliver{ConsumerTag: s.tag, DeliveryTag: d.Tag, Redelivered: d.Redelivered,
		Exchange: m.Exchange, RoutingKey: m.RoutingKey}
	ok := ch.appendDeliveryLocked(d.Tag, &s.deliver, &s.props, m.Body)
	s.props.Headers = nil // do not keep the message's table alive
	if !ok {
		s.refused = true // the hold is full: resumed when it ends
	}
	return ok
}

// hold keeps a channel's deliveries back while the reader is in a
// basic.consume or basic.get (guarded by c.mu): core may hand over
// deliveries before the method returns, and none may overtake the
// consume-ok (a client learns a server-generated tag from it), nor may the
// get-ok's delivery tag be out of order with them.
type hold struct {
	active bool
	frames []byte
	tags   []uint64 // the delivery tag of each held delivery
	offs   []int    // where its frames start
}

// appendDeliveryLocked queues a delivery's frames: held, or for the writer.
// It reports false when they cannot be queued (the hold is full, or they
// do not encode).
func (ch *channel) appendDeliveryLocked(tag uint64, m wire.Method, props *wire.Properties, body []byte) bool {
	c := ch.c
	h := &ch.hold
	if !h.active {
		return c.sendContentLocked(ch.id, m, props, body)
	}
	if len(h.frames) >= deliveryHighWater {
		return false
	}
	off := len(h.frames)
	out, err := wire.AppendContent(h.frames, ch.id, m, props, body, c.frameMax)
	if err != nil {
		c.log.Error("cannot encode content", "method", m.Name(), "err", err)
		return false
	}
	h.frames, h.tags, h.offs = out, append(h.tags, tag), append(h.offs, off)
	return true
}

// holdDeliveries starts holding the channel's deliveries. Only the reader
// holds, one method at a time.
func (ch *channel) holdDeliveries() {
	ch.c.mu.Lock()
	ch.hold.active = true
	ch.c.mu.Unlock()
}

// releaseHoldLocked ends the hold: reply (the frames answering the method
// that held) goes out with the held deliveries, placed by its delivery tag
// among theirs (first when tag is 0). It returns the consumers refused
// meanwhile, for the caller to resume once it has released c.mu.
func (ch *channel) releaseHoldLocked(reply []byte, tag uint64) []*consumer {
	h := &ch.hold
	split := 0
	if tag != 0 {
		split = len(h.frames)
		for i, t := range h.tags {
			if t > tag {
				split = h.offs[i]
				break
			}
		}
	}
	if len(reply)+len(h.frames) > 0 {
		ch.c.appendLocked(h.frames[:split], reply, h.frames[split:])
	}
	*h = hold{}
	return ch.refusedLocked()
}

// appendMethod encodes a method frame for a reply built before it is queued.
func (c *conn) appendMethod(dst []byte, ch uint16, m wire.Method) []byte {
	out, err := wire.AppendMethodFrame(dst, ch, m)
	if err != nil {
		c.log.Error("cannot encode method", "method", m.Name(), "err", err)
		return dst
	}
	return out
}

// Cancelled implements core.Sink: the queue went away. A client that
// advertised consumer_cancel_notify is told with basic.cancel (RabbitMQ's
// extension); others just stop receiving.
func (s *consumer) Cancelled(err error) {
	c := s.ch.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.cancelled {
		return
	}
	s.cancelled = true
	if s.ch.consumers[s.tag] == s {
		delete(s.ch.consumers, s.tag)
	}
	if c.caps.cancelNotify && !s.ch.closed {
		c.sendLocked(s.ch.id, &wire.BasicCancel{ConsumerTag: s.tag, NoWait: true})
	}
}

// refusedLocked takes the channel's consumers that refused a delivery and
// may receive again. The caller holds c.mu and resumes them after
// releasing it.
func (ch *channel) refusedLocked() []*consumer {
	var out []*consumer
	for _, s := range ch.consumers {
		if s.refused && s.core != nil {
			s.refused = false
			out = append(out, s)
		}
	}
	return out
}

// resumeAll resumes consumers; the caller holds no lock, since resuming
// dispatches and dispatching calls sinks.
func resumeAll(cs []*consumer) {
	for _, s := range cs {
		s.core.Resume()
	}
}
