package amqp

import (
	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// The exchange class: declare, delete, bind, unbind, each straight onto
// the core session, with RabbitMQ's checks that core leaves to the
// protocol.

func (ch *channel) handleExchangeDeclare(m wire.Method) error {
	d := m.(*wire.ExchangeDeclare)
	if d.Exchange == "" {
		// rabbit_channel:check_not_default_exchange, passive included.
		return errorf(wire.ReplyAccessRefused, "operation not permitted on the default exchange")
	}
	err := ch.sess.DeclareExchange(d.Exchange, core.ExchangeOptions{Kind: d.Type, Durable: d.Durable,
		AutoDelete: d.AutoDelete, Internal: d.Internal, Passive: d.Passive, Args: d.Arguments})
	if err != nil {
		return err
	}
	if !d.NoWait {
		ch.c.send(ch.id, &wire.ExchangeDeclareOk{})
	}
	return nil
}

// handleExchangeDelete deletes an exchange; deleting one that does not
// exist succeeds, as in RabbitMQ (rabbit_exchange:ensure_deleted).
func (ch *channel) handleExchangeDelete(m wire.Method) error {
	d := m.(*wire.ExchangeDelete)
	err := ch.sess.DeleteExchange(d.Exchange, core.DeleteExchangeOptions{IfUnused: d.IfUnused})
	if err != nil && core.CodeOf(err) != core.NotFound {
		return err
	}
	if !d.NoWait {
		ch.c.send(ch.id, &wire.ExchangeDeleteOk{})
	}
	return nil
}

func (ch *channel) handleExchangeBind(m wire.Method) error {
	b := m.(*wire.ExchangeBind)
	if err := ch.sess.Bind(b.Destination, b.Source, b.RoutingKey, b.Arguments, true); err != nil {
		return err
	}
	if !b.NoWait {
		ch.c.send(ch.id, &wire.ExchangeBindOk{})
	}
	return nil
}

func (ch *channel) handleExchangeUnbind(m wire.Method) error {
	b := m.(*wire.ExchangeUnbind)
	if err := ch.sess.Unbind(b.Destination, b.Source, b.RoutingKey, b.Arguments, true); err != nil {
		return err
	}
	if !b.NoWait {
		ch.c.send(ch.id, &wire.ExchangeUnbindOk{})
	}
	return nil
}
