// Package store persists the broker: metadata records (vhosts, users,
// permissions, exchanges, queues, bindings, front-end sessions, retained
// messages) and the messages of durable queues. The Store interface has two
// implementations: a durable one on Pebble with group commit, and a memory
// one for transient brokers and tests. One suite tests both.
package store
