// Package core is mqgate's engine: vhosts, exchanges, bindings, queues,
// messages, consumers, leases, routing, TTL, dead-lettering, FIFO groups,
// deduplication and flow control. Every front-end (AMQP, MQTT, STOMP, SQS,
// SNS) translates into it; core itself knows no protocol.
package core
