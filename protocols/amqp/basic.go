package amqp

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// The basic class, but for publish (publish.go): qos, consume, cancel,
// get, ack, nack, reject and recover.

// handleBasicQos sets prefetch as RabbitMQ does since 3.3: global=false is
// per consumer and applies to consumers created after it; global=true is one
// limit shared by the channel's consumers (Session.SetPrefetch). Setting
// either removes a shared limit set before, and prefetch_size is refused.
func (ch *channel) handleBasicQos(m wire.Method) error {
	q := m.(*wire.BasicQos)
	if q.PrefetchSize != 0 {
		return errorf(wire.ReplyNotImplemented, "prefetch_size!=0 (%d)", q.PrefetchSize)
	}
	if q.Global {
		ch.sess.SetPrefetch(int(q.PrefetchCount))
	} else {
		ch.sess.SetPrefetch(0)
		ch.prefetch = int(q.PrefetchCount)
	}
	ch.c.send(ch.id, &wire.BasicQosOk{})
	return nil
}

// consumerTag generates a consumer tag as RabbitMQ does: "amq.ctag-" and a
// random URL-safe base64 string.
func consumerTag() string {
	var p [16]byte
	_, _ = rand.Read(p[:])
	return "amq.ctag-" + base64.RawURLEncoding.EncodeToString(p[:])
}

func (ch *channel) handleBasicConsume(m wire.Method) error {
	bc := m.(*wire.BasicConsume)
	if bc.Queue == replyQueue {
		return ch.consumeReply(bc)
	}
	q, err := ch.queueName(bc.Queue)
	if err != nil {
		return err
	}
	tag := bc.ConsumerTag
	if tag == "" {
		tag = consumerTag()
	}
	priority, err := consumerPriority(bc.Arguments, q, ch.c.vhost)
	if err != nil {
		return err
	}
	c := ch.c
	s := &consumer{ch: ch, tag: tag, noAck: bc.NoAck}
	c.mu.Lock()
	if ch.tagInUseLocked(tag) {
		c.mu.Unlock()
		return errorf(wire.ReplyNotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	ch.consumers[tag] = s
	c.mu.Unlock()
	ch.holdDeliveries()
	cc, err := ch.sess.Consume(q, core.ConsumeOptions{Tag: tag, NoAck: bc.NoAck, Exclusive: bc.Exclusive,
		Priority: priority, PrefetchCount: ch.prefetch}, s)
	var reply []byte
	c.mu.Lock()
	if err != nil {
		if ch.consumers[tag] == s {
			delete(ch.consumers, tag)
		}
	} else {
		s.core = cc
		if !bc.NoWait {
			reply = c.appendMethod(nil, ch.id, &wire.BasicConsumeOk{ConsumerTag: tag})
		}
	}
	resume := ch.releaseHoldLocked(reply, 0)
	c.mu.Unlock()
	resumeAll(resume)
	return err
}

func (ch *channel) tagInUseLocked(tag string) bool {
	return ch.consumers[tag] != nil || (ch.reply != nil && ch.reply.tag == tag)
}

// consumerPriority reads basic.consume's x-priority argument.
func consumerPriority(args core.Table, queue, vhost string) (int, error) {
	v, ok := args["x-priority"]
	if !ok {
		return 0, nil
	}
	switch x := v.(type) {
	case int8:
		return int(x), nil
	case uint8:
		return int(x), nil
	case int16:
		return int(x), nil
	case uint16:
		return int(x), nil
	case int32:
		return int(x), nil
	case uint32:
		return int(x), nil
	case int64:
		return int(x), nil
	}
	return 0, errorf(wire.ReplyPreconditionFailed, "invalid arg 'x-priority' for queue '%s' in vhost '%s': {unacceptable_type,%T}",
		queue, vhost, v)
}

// handleBasicCancel cancels a consumer; an unknown tag is not an error
// (AMQP 0-9-1, basic.cancel). No delivery for the tag follows cancel-ok.
func (ch *channel) handleBasicCancel(m wire.Method) error {
	bc := m.(*wire.BasicCancel)
	c := ch.c
	c.mu.Lock()
	rc := ch.reply
	if rc != nil && rc.tag == bc.ConsumerTag {
		ch.reply = nil
	}
	s := ch.consumers[bc.ConsumerTag]
	if s != nil {
		delete(ch.consumers, bc.ConsumerTag)
		s.cancelled = true
	}
	if !bc.NoWait {
		c.sendLocked(ch.id, &wire.BasicCancelOk{ConsumerTag: bc.ConsumerTag})
	}
	c.mu.Unlock()
	if rc != nil && rc.tag == bc.ConsumerTag {
		c.srv.replies.remove(rc)
	}
	if s != nil {
		if err := ch.sess.Cancel(bc.ConsumerTag); err != nil && core.CodeOf(err) != core.NotFound {
			return err
		}
	}
	return nil
}

func (ch *channel) handleBasicGet(m wire.Method) error {
	g := m.(*wire.BasicGet)
	q, err := ch.queueName(g.Queue)
	if err != nil {
		return err
	}
	ch.holdDeliveries()
	ds, err := ch.sess.Get(context.Background(), q, core.GetOptions{Max: 1, NoAck: g.NoAck})
	c := ch.c
	var reply []byte
	var tag uint64
	switch {
	case err != nil:
	case len(ds) == 0:
		reply = c.appendMethod(nil, ch.id, &wire.BasicGetEmpty{})
	default:
		d := ds[0]
		props := toWire(&d.Message.Properties)
		var encErr error
		reply, encErr = wire.AppendContent(nil, ch.id, &wire.BasicGetOk{DeliveryTag: d.Tag, Redelivered: d.Redelivered,
			Exchange: d.Message.Exchange, RoutingKey: d.Message.RoutingKey, MessageCount: clampU32(d.Remaining)},
			&props, d.Message.Body, c.frameMax)
		if encErr != nil {
			err = &amqpError{code: wire.ReplyInternalError, text: "cannot encode the message: " + encErr.Error()}
		}
		tag = d.Tag
	}
	c.mu.Lock()
	resume := ch.releaseHoldLocked(reply, tag)
	c.mu.Unlock()
	resumeAll(resume)
	return err
}

// Settlements. In a transaction they wait for tx.commit.

func (ch *channel) handleBasicAck(m wire.Method) error {
	a := m.(*wire.BasicAck)
	if ch.tx != nil {
		ch.tx.settles = append(ch.tx.settles, txSettle{tag: a.DeliveryTag, multiple: a.Multiple, ack: true})
		return nil
	}
	return ch.sess.Ack(a.DeliveryTag, a.Multiple)
}

func (ch *channel) handleBasicNack(m wire.Method) error {
	n := m.(*wire.BasicNack)
	return ch.nack(txSettle{tag: n.DeliveryTag, multiple: n.Multiple, requeue: n.Requeue})
}

func (ch *channel) handleBasicReject(m wire.Method) error {
	r := m.(*wire.BasicReject)
	return ch.nack(txSettle{tag: r.DeliveryTag, requeue: r.Requeue})
}

func (ch *channel) nack(s txSettle) error {
	if ch.tx != nil {
		ch.tx.settles = append(ch.tx.settles, s)
		return nil
	}
	return ch.sess.Nack(s.tag, core.NackOptions{Multiple: s.multiple, Requeue: s.requeue})
}

// handleBasicRecover requeues every unsettled delivery of the channel.
// requeue=false (redeliver to the same consumer) is refused, as RabbitMQ
// refuses it.
func (ch *channel) handleBasicRecover(m wire.Method) error {
	if !m.(*wire.BasicRecover).Requeue {
		return errorf(wire.ReplyNotImplemented, "requeue=false")
	}
	ch.sess.Recover()
	ch.c.send(ch.id, &wire.BasicRecoverOk{})
	return nil
}

func (ch *channel) handleBasicRecoverAsync(m wire.Method) error {
	if !m.(*wire.BasicRecoverAsync).Requeue {
		return errorf(wire.ReplyNotImplemented, "requeue=false")
	}
	ch.sess.Recover()
	return nil
}
