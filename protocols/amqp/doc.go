// Package amqp is mqgate's AMQP 0-9-1 front-end: a server that RabbitMQ's
// client libraries cannot tell from RabbitMQ, serving a core.Broker.
//
// The codec is package wire, generated from RabbitMQ's extended spec XML.
// This package is the protocol's state machines and their mapping onto
// core; README.md has the tables (every method and the core call it makes,
// reply codes, properties).
//
// # Structure
//
// Each connection has two goroutines (DESIGN §4): the one calling
// ServeConn reads frames and runs the protocol (handshake.go, conn.go,
// connection.go, channel.go and one file per class: exchange.go, queue.go,
// basic.go, publish.go, tx.go, confirm.go); the writer (writer.go) owns the
// socket's write side. Everything sent is appended to one buffer under the
// connection's mutex and written by the writer when it is free, so frames
// produced meanwhile are coalesced into one write; publisher confirms are
// gathered just before each write and sent as few basic.ack frames as
// possible (confirm.go).
//
// Consumers are core.Sinks (deliver.go): core hands them deliveries from
// whichever goroutine dispatches a queue and they encode basic.deliver into
// the buffer directly. A sink never blocks: when the buffer is over
// deliveryHighWater, or channel.flow paused the channel, it refuses, the
// message stays in its queue, and the consumer is resumed when the reason
// clears. A slow consumer therefore holds messages in queues, never memory
// in the server, and never stalls a publisher.
//
// # Lock order
//
// core's locks (queue, session delivery lock) come before conn.mu: sinks,
// confirm and flow callbacks run with core locks held or not and take
// conn.mu; nothing holding conn.mu calls into core. The reply registry's
// lock is a leaf.
//
// # Extensions and choices
//
// Everything RabbitMQ advertises is implemented: publisher confirms,
// basic.nack, exchange-to-exchange bindings, consumer cancel notification,
// connection.blocked, consumer priorities, authentication_failure_close,
// per-consumer qos and direct reply-to. Where RabbitMQ refuses a valid
// request the server refuses it the same way (basic.qos prefetch_size,
// basic.recover requeue=false, immediate publishes), except channel.flow
// active=false, which it honours. README.md lists the differences.
package amqp
