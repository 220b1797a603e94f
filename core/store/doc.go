// Package store persists the broker: metadata records (vhosts, users,
// permissions, exchanges, queues, bindings, front-end sessions, retained
// messages) and the messages of durable queues. The Store interface has two
// implementations: a durable one on Pebble with group commit (OpenDurable),
// and a memory one for transient brokers and tests (NewMemory). One suite
// tests both; a crash test kills a writing process and checks what survives.
//
// Files:
//
//	store.go     the interface, batches and errors
//	committer.go group commit, shared by both stores (DESIGN §4.5)
//	durable.go   the store on Pebble
//	options.go   DurableOptions and Pebble's configuration for this workload
//	keys.go      the durable store's key layout
//	memory.go    the in-memory store
//
// Commit never blocks on I/O: it queues the batch and wakes the committer
// goroutine, which applies everything queued as one group; a second goroutine
// waits for the group's single fsync and calls the done callbacks in commit
// order, while the committer already writes the next group.
package store
