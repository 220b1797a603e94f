package amqp

import (
	"strings"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// basic.publish: the method frame starts content assembly (channel.go);
// publish runs once the body is complete.

func (ch *channel) handleBasicPublish(m wire.Method) error {
	p := m.(*wire.BasicPublish)
	if p.Immediate {
		return errorf(wire.ReplyNotImplemented, "immediate=true")
	}
	ch.c.waitUnblocked()
	ch.assembly.method = p
	ch.assembly.state = expectHeader
	return nil
}

// publish hands a complete message to core, or to the transaction.
func (ch *channel) publish(p *wire.BasicPublish, props *wire.Properties, body []byte) error {
	c := ch.c
	msg := &core.Message{Exchange: p.Exchange, RoutingKey: p.RoutingKey, Properties: fromWire(props), Body: body}
	if u := msg.Properties.UserID; u != "" && u != c.user {
		return errorf(wire.ReplyPreconditionFailed, "user_id property set to '%s' but authenticated user was '%s'", u, c.user)
	}
	if msg.Properties.ReplyTo == replyQueue {
		c.mu.Lock()
		rc := ch.reply
		c.mu.Unlock()
		if rc == nil {
			return errorf(wire.ReplyPreconditionFailed, "fast reply consumer does not exist")
		}
		msg.Properties.ReplyTo = rc.name
	}
	if ch.tx != nil {
		// RabbitMQ checks the exchange when the publish arrives, not at
		// commit.
		if c.core.VHost().Exchange(p.Exchange) == nil {
			return errorf(wire.ReplyNotFound, "no exchange '%s' in vhost '%s'", p.Exchange, c.vhost)
		}
		if max := c.srv.cfg.MaxTxBytes; ch.tx.bytes+uint64(len(body)) > max {
			return errorf(wire.ReplyResourceError, "uncommitted messages of the transaction exceed %d octets", max)
		}
		ch.tx.bytes += uint64(len(body))
		ch.tx.publishes = append(ch.tx.publishes, txPublish{msg: msg, mandatory: p.Mandatory})
		return nil
	}
	var confirm func(error)
	if ch.confirming {
		seq := ch.nextSeq
		ch.nextSeq++
		c.mu.Lock()
		ch.conf.addLocked()
		c.mu.Unlock()
		confirm = func(err error) { ch.resolve(seq, err == nil) }
	}
	return ch.route(msg, p.Mandatory, confirm)
}

// route publishes msg through core, or to a direct reply-to consumer when
// its routing key names one. confirm, if set, is called exactly once.
func (ch *channel) route(msg *core.Message, mandatory bool, confirm func(error)) error {
	if msg.Exchange == "" && strings.HasPrefix(msg.RoutingKey, replyQueue+".") {
		return ch.routeReply(msg, mandatory, confirm)
	}
	opts := core.PublishOptions{Mandatory: mandatory, Confirm: confirm}
	if mandatory {
		opts.Return = func() { ch.sendReturn(msg) }
	}
	_, err := ch.sess.Publish(msg, opts)
	return err
}

// routeReply delivers a reply to the channel that owns its reply-to name.
// It publishes through core first, where no queue can match (no queue name
// may start with "amq."), so permissions and properties are checked as for
// any publish.
func (ch *channel) routeReply(msg *core.Message, mandatory bool, confirm func(error)) error {
	if _, err := ch.sess.Publish(msg, core.PublishOptions{}); err != nil {
		return err
	}
	rc := ch.c.srv.replies.lookup(msg.RoutingKey)
	if (rc == nil || !rc.deliver(msg)) && mandatory {
		ch.sendReturn(msg)
	}
	if confirm != nil {
		confirm(nil)
	}
	return nil
}

// sendReturn sends basic.return 312 NO_ROUTE with the message. Core calls
// it before the publish's confirm, and the writer collects confirms after
// what is queued, so the return reaches the client first.
func (ch *channel) sendReturn(msg *core.Message) {
	c := ch.c
	props := toWire(&msg.Properties)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.closed {
		return
	}
	c.sendContentLocked(ch.id, &wire.BasicReturn{ReplyCode: wire.ReplyNoRoute, ReplyText: "NO_ROUTE",
		Exchange: msg.Exchange, RoutingKey: msg.RoutingKey}, &props, msg.Body)
}
