package conformance

import (
	"testing"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPRareMethods covers, with raw frames, the methods client libraries
// rarely or never send: basic.recover-async, connection.update-secret,
// connection.blocked from a client, stray close-ok and flow-ok, nowait
// variants, and reusing a channel id after close.
func TestAMQPRareMethods(t *testing.T) {
	s := startAMQPServer(t, options{})
	r := rawHandshake(t, s, rawOptions{caps: core.Table{"consumer_cancel_notify": true}})

	// A client's own connection.blocked / unblocked is accepted silently.
	r.send(0, &wire.ConnectionBlocked{Reason: "client low on memory"})
	r.send(0, &wire.ConnectionUnblocked{})

	r.openChannel(1)
	r.send(1, &wire.ChannelFlowOk{Active: true}) // answers nothing we sent: ignored
	r.send(1, &wire.QueueDeclare{Queue: "rare", NoWait: true})
	r.send(1, &wire.ExchangeDeclare{Exchange: "rx", Type: "fanout", NoWait: true})
	r.send(1, &wire.ExchangeBind{Destination: "rx", Source: "amq.fanout", NoWait: true})
	r.send(1, &wire.QueueBind{Queue: "rare", Exchange: "rx", NoWait: true})
	r.send(1, &wire.ConfirmSelect{NoWait: true})
	b, err := wire.AppendContent(nil, 1, &wire.BasicPublish{Exchange: "amq.fanout"}, nil, []byte("m"), 4096)
	must(t, err)
	r.write(b)
	if ack := r.expect(1, &wire.BasicAck{}).(*wire.BasicAck); ack.DeliveryTag != 1 {
		t.Fatalf("ack %+v", ack)
	}

	// basic.recover-async: the unacked delivery comes back, no reply.
	r.send(1, &wire.BasicConsume{Queue: "rare", ConsumerTag: "c", NoWait: true})
	d := r.expect(1, &wire.BasicDeliver{}).(*wire.BasicDeliver)
	if d.Redelivered || d.Exchange != "amq.fanout" {
		t.Fatalf("deliver %+v", d)
	}
	r.send(1, &wire.BasicRecoverAsync{Requeue: true})
	if d := r.expect(1, &wire.BasicDeliver{}).(*wire.BasicDeliver); !d.Redelivered {
		t.Fatalf("after recover-async %+v", d)
	}
	r.send(1, &wire.BasicCancel{ConsumerTag: "c", NoWait: true})
	r.send(1, &wire.ExchangeUnbind{Destination: "rx", Source: "amq.fanout", NoWait: true})
	r.send(1, &wire.ExchangeDelete{Exchange: "rx", NoWait: true})
	r.send(1, &wire.QueuePurge{Queue: "rare", NoWait: true})
	r.send(1, &wire.QueueDelete{Queue: "rare", NoWait: true})

	// Close the channel and reuse its id at once.
	r.send(1, &wire.ChannelClose{ReplyCode: 200, ReplyText: "bye"})
	r.expect(1, &wire.ChannelCloseOk{})
	r.openChannel(1)
	r.send(1, &wire.ChannelCloseOk{}) // stray: ignored
	r.send(1, &wire.QueueDeclare{Queue: "rare", Passive: true})
	r.expectChannelClose(1, 404, "NOT_FOUND - no queue 'rare' in vhost '/'")

	// The reply-to pseudo-queue declares as RabbitMQ's does.
	r.openChannel(2)
	r.send(2, &wire.QueueDeclare{Queue: "amq.rabbitmq.reply-to"})
	if ok := r.expect(2, &wire.QueueDeclareOk{}).(*wire.QueueDeclareOk); ok.ConsumerCount != 1 {
		t.Fatalf("declare-ok %+v", ok)
	}
	r.send(2, &wire.QueueDeclare{Queue: "amq.rabbitmq.reply-to.nobody"})
	r.expectChannelClose(2, 404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-to.nobody' in vhost '/'")

	// update-secret re-checks the password.
	r.send(0, &wire.ConnectionUpdateSecret{NewSecret: []byte("guest"), Reason: "refresh"})
	r.expect(0, &wire.ConnectionUpdateSecretOk{})
	r.send(0, &wire.ConnectionUpdateSecret{NewSecret: []byte("wrong"), Reason: "refresh"})
	r.expectConnectionClose(530, "NOT_ALLOWED - New secret was refused by one of the backends")
}

// TestAMQPConnectionMethodsOutOfTurn: handshake methods after the handshake
// and a second channel.open are connection errors, as in RabbitMQ.
func TestAMQPConnectionMethodsOutOfTurn(t *testing.T) {
	s := startAMQPServer(t, options{})
	r := rawHandshake(t, s, rawOptions{})
	r.send(0, &wire.ConnectionTuneOk{ChannelMax: 10, FrameMax: 4096})
	r.expectConnectionClose(504, "CHANNEL_ERROR - unexpected method in connection state running")

	r = rawHandshake(t, s, rawOptions{})
	r.openChannel(1)
	r.send(1, &wire.ChannelOpen{})
	r.expectConnectionClose(504, "CHANNEL_ERROR - second 'channel.open' seen")

	r = rawHandshake(t, s, rawOptions{})
	r.send(0, &wire.QueueDeclare{Queue: "q"})
	r.expectConnectionClose(503, "")

	r = rawHandshake(t, s, rawOptions{noOpen: true, frameMax: 1 << 30})
	r.send(0, &wire.ConnectionOpen{VirtualHost: "/"})
	r.expectConnectionClose(530, "NOT_ALLOWED - negotiated frame_max = 1073741824 is higher than the maximum allowed value (131072)")
}
