package amqp

import (
	"strings"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// The queue class. Arguments go to core unchanged: core reads RabbitMQ's
// x- arguments. An empty queue name means the channel's most recently
// declared queue, as RabbitMQ expands it (rabbit_channel:expand_shortcuts).

// queueName expands the empty-name shortcut.
func (ch *channel) queueName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if ch.lastQueue == "" {
		return "", errorf(wire.ReplyNotFound, "no previously declared queue")
	}
	return ch.lastQueue, nil
}

func (ch *channel) handleQueueDeclare(m wire.Method) error {
	d := m.(*wire.QueueDeclare)
	if strings.HasPrefix(d.Queue, replyQueue) {
		return ch.declareReplyQueue(d)
	}
	info, err := ch.sess.DeclareQueue(d.Queue, core.QueueOptions{Durable: d.Durable, Exclusive: d.Exclusive,
		AutoDelete: d.AutoDelete, Passive: d.Passive, Args: d.Arguments})
	if err != nil {
		return err
	}
	ch.lastQueue = info.Name
	if !d.NoWait {
		ch.c.send(ch.id, &wire.QueueDeclareOk{Queue: info.Name, MessageCount: clampU32(info.Ready),
			ConsumerCount: clampU32(info.Consumers)})
	}
	return nil
}

// declareReplyQueue answers a declare of the direct reply-to pseudo-queue
// or of a reply name, as RabbitMQ does: it exists, with one consumer, when
// its consumer does.
func (ch *channel) declareReplyQueue(d *wire.QueueDeclare) error {
	if d.Queue != replyQueue && ch.c.srv.replies.lookup(d.Queue) == nil {
		return errorf(wire.ReplyNotFound, "no queue '%s' in vhost '%s'", d.Queue, ch.c.vhost)
	}
	if !d.NoWait {
		ch.c.send(ch.id, &wire.QueueDeclareOk{Queue: d.Queue, ConsumerCount: 1})
	}
	return nil
}

// bindingTarget expands queue.bind's and unbind's shortcuts: an empty
// queue is the channel's last declared one, and then an empty routing key
// is that queue's name.
func (ch *channel) bindingTarget(queue, key string) (string, string, error) {
	q, err := ch.queueName(queue)
	if err == nil && queue == "" && key == "" {
		key = q
	}
	return q, key, err
}

func (ch *channel) handleQueueBind(m wire.Method) error {
	b := m.(*wire.QueueBind)
	q, key, err := ch.bindingTarget(b.Queue, b.RoutingKey)
	if err != nil {
		return err
	}
	if err := ch.sess.Bind(q, b.Exchange, key, b.Arguments, false); err != nil {
		return err
	}
	if !b.NoWait {
		ch.c.send(ch.id, &wire.QueueBindOk{})
	}
	return nil
}

func (ch *channel) handleQueueUnbind(m wire.Method) error {
	b := m.(*wire.QueueUnbind)
	q, key, err := ch.bindingTarget(b.Queue, b.RoutingKey)
	if err != nil {
		return err
	}
	if err := ch.sess.Unbind(q, b.Exchange, key, b.Arguments, false); err != nil {
		return err
	}
	ch.c.send(ch.id, &wire.QueueUnbindOk{})
	return nil
}

func (ch *channel) handleQueuePurge(m wire.Method) error {
	p := m.(*wire.QueuePurge)
	q, err := ch.queueName(p.Queue)
	if err != nil {
		return err
	}
	n, err := ch.sess.Purge(q)
	if err != nil {
		return err
	}
	if !p.NoWait {
		ch.c.send(ch.id, &wire.QueuePurgeOk{MessageCount: clampU32(n)})
	}
	return nil
}

func (ch *channel) handleQueueDelete(m wire.Method) error {
	d := m.(*wire.QueueDelete)
	q, err := ch.queueName(d.Queue)
	if err != nil {
		return err
	}
	n, err := ch.sess.DeleteQueue(q, core.DeleteQueueOptions{IfUnused: d.IfUnused, IfEmpty: d.IfEmpty})
	if err != nil {
		return err
	}
	if !d.NoWait {
		ch.c.send(ch.id, &wire.QueueDeleteOk{MessageCount: clampU32(n)})
	}
	return nil
}

func clampU32(n int) uint32 {
	if n < 0 {
		return 0
	}
	return uint32(min(uint64(n), 1<<32-1))
}
