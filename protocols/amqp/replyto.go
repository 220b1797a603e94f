package amqp

import (
	"crypto/rand"
	"encoding/base64"
	"sync"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to). A requester consumes
// the pseudo-queue amq.rabbitmq.reply-to with no-ack and publishes requests
// with reply_to amq.rabbitmq.reply-to; the server rewrites that to a name
// unique to the requester's channel, and a reply published to the default
// exchange with that name as routing key is delivered straight to the
// requester's consumer, with no queue in between: at most once, gone if the
// requester's channel is.

// replyQueue is the pseudo-queue's name and the prefix of reply names.
const replyQueue = "amq.rabbitmq.reply-to"

// replyConsumer is a channel's consumer of the pseudo-queue.
type replyConsumer struct {
	ch   *channel
	tag  string
	name string // the reply-to name requests carry
}

// replyRegistry finds reply consumers by name, across connections.
type replyRegistry struct {
	mu     sync.Mutex
	byName map[string]*replyConsumer
}

func (r *replyRegistry) init() { r.byName = make(map[string]*replyConsumer) }

func (r *replyRegistry) add(rc *replyConsumer) {
	r.mu.Lock()
	r.byName[rc.name] = rc
	r.mu.Unlock()
}

func (r *replyRegistry) remove(rc *replyConsumer) {
	r.mu.Lock()
	if r.byName[rc.name] == rc {
		delete(r.byName, rc.name)
	}
	r.mu.Unlock()
}

func (r *replyRegistry) lookup(name string) *replyConsumer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[name]
}

// consumeReply handles basic.consume of the pseudo-queue.
func (ch *channel) consumeReply(bc *wire.BasicConsume) error {
	if !bc.NoAck {
		return errorf(wire.ReplyPreconditionFailed, "reply consumer cannot acknowledge")
	}
	tag := bc.ConsumerTag
	if tag == "" {
		tag = consumerTag()
	}
	var p [18]byte
	_, _ = rand.Read(p[:])
	rc := &replyConsumer{ch: ch, tag: tag, name: replyQueue + "." + base64.RawURLEncoding.EncodeToString(p[:])}
	c := ch.c
	c.mu.Lock()
	switch {
	case ch.tagInUseLocked(tag):
		c.mu.Unlock()
		return errorf(wire.ReplyNotAllowed, "attempt to reuse consumer tag '%s'", tag)
	case ch.reply != nil:
		c.mu.Unlock()
		return errorf(wire.ReplyPreconditionFailed, "reply consumer already set")
	}
	ch.reply = rc
	if !bc.NoWait {
		c.sendLocked(ch.id, &wire.BasicConsumeOk{ConsumerTag: tag})
	}
	c.mu.Unlock()
	c.srv.replies.add(rc)
	return nil
}

// deliver sends a reply to the requester as basic.deliver from the default
// exchange. It reports false if the reply could not be delivered: the
// channel is gone, or its connection is too far behind to take more.
func (rc *replyConsumer) deliver(msg *core.Message) bool {
	ch := rc.ch
	c := ch.c
	props := toWire(&msg.Properties)
	sent := false
	ch.sess.DeliverUnleased(func(tag uint64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if ch.closed || ch.reply != rc || len(c.out.buf) >= readerHighWater {
			return
		}
		sent = ch.appendDeliveryLocked(tag, &wire.BasicDeliver{ConsumerTag: rc.tag, DeliveryTag: tag,
			Exchange: "", RoutingKey: msg.RoutingKey}, &props, msg.Body)
	})
	return sent
}
