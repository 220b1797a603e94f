// Package core is mqgate's engine: vhosts, exchanges, bindings, queues,
// messages, consumers, leases, routing, TTL, dead-lettering, FIFO groups,
// deduplication and flow control. Every front-end (AMQP, MQTT, STOMP, SQS,
// SNS) translates into it; core itself knows no protocol (a test, deps_test.go,
// fails the build if it imports one).
//
// # Model
//
// RabbitMQ's: a Broker holds vhosts; a VHost holds exchanges and queues; an
// Exchange routes a Message along bindings to queues and other exchanges. A
// client is a Connection (authenticated, bound to a vhost, owner of exclusive
// queues) with Sessions (an AMQP channel, an MQTT session, the SQS API).
// Session.Publish routes and enqueues, and reports through
// PublishOptions.Confirm once the message is safe (for a persistent message in
// a durable queue: after the store's group-commit fsync). Session.Consume
// registers a Sink that receives Deliveries pushed within the consumer's
// credit; Session.Get pulls (basic.get, SQS ReceiveMessage with long polling).
// Every unsettled delivery is a lease owned by its session, optionally with a
// deadline (SQS visibility timeout); Ack, Nack, Touch settle or extend it, and
// closing the session requeues it at its original position.
//
// A message routed to N queues is stored once (stored) and referenced by N
// queue entries. Durable queues write their entries to the store; once on
// disk, bodies beyond Config.BodyCacheBytes leave memory and are read back
// when delivered, so a queue can hold more than RAM.
//
// # Concurrency
//
// There is no goroutine per queue or consumer and no global event loop: the
// publisher's goroutine routes, enqueues and dispatches; a queue is dispatched
// by one goroutine at a time (Queue.dispatching), which keeps deliveries in
// order; timers (TTL, leases, delays, queue expiry) are runtime timers armed
// for each queue's next deadline. No lock is held during socket I/O or fsync:
// store.Store.Commit only queues a batch, and Sinks never block.
//
// Lock order (a lock may be taken while holding those before it, never after):
//
//	Broker.mu
//	VHost.mu            (exchanges, queues, every binding of the vhost)
//	Session.deliverMu   (orders tag assignment with the hand-over to a Sink)
//	Queue.mu            (entries, leases, consumers' credit)
//	Session.mu          (leases by tag, consumers by tag)
//	Connection.mu
//	the store's internal locks
//
// In practice the chains are short: a lease expiring under Queue.mu forgets
// itself in its Session.mu; everything else releases one lock before taking
// the next. Sink.TryDeliver is called holding Session.deliverMu only, so a
// Sink must not call back into core.
// Functions that expect their queue's lock held end in Locked.
//
// Time comes from Config.Clock (FakeClock in tests): scanners take now as an
// argument, and the hot path reads the clock once per publish at most.
package core
