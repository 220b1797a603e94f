package store

import (
	"fmt"
	"sync"
)

// request is one Commit, or one Flush marker (batch nil), waiting for the
// committer.
type request struct {
	batch *Batch
	done  func(error)
	size  int   // estimated encoded size, for the group byte limit
	err   error // set by Commit when the batch is invalid: reported in order, never applied
}

// applyFunc writes one group of requests, in order, skipping Flush markers
// and requests whose err is set, and returns a function that waits until the
// group is durable (nil: it already is). An error fails every request of the
// group, so the group must be all or nothing.
type applyFunc func(group []request) (wait func() error)

// written is a group that has been applied and may still be syncing.
type written struct {
	group []request
	wait  func() error
}

// committer implements group commit (DESIGN §4.5). Commit only appends to
// pending under mu and wakes the committer goroutine with a non-blocking send
// on a capacity-1 channel, so a caller never waits for I/O. The committer
// takes everything pending and applies it as one group; the completer
// goroutine waits until the group is durable and then calls the done
// callbacks in commit order.
//
// Two goroutines instead of one keep the groups large. With one, the
// callbacks of a group run just before the next group is taken, so the
// callers they release have no time to commit again: groups alternate
// between nearly all and nearly none of the commits in flight, and each sync
// carries half of them on average. With two, groups are written while
// earlier ones sync.
//
// The committer writes a group as soon as it has taken it, up to
// maxWrittenGroups ahead of the completer. The store's log syncs everything
// written during one fsync with the next, so a commit written at once is
// durable after the fsync in progress and the next one. When the committer
// waited for the completer to take the previous group (one group queued
// between them), commits that arrived during an fsync were written only
// after it, too late for the next one: in the SQS benchmark half of them
// waited for a third fsync. Groups get smaller, but a group costs little
// next to an fsync (the time spent applying stayed the same), and beyond
// maxWrittenGroups the committer waits and pending grows into a larger group.
//
// A done callback runs on the completer goroutine: it may Commit, but must
// not wait for Flush or Close, which wait for the completer.
type committer struct {
	apply applyFunc
	// maxGroupBytes bounds the estimated size of a group so that a backlog of
	// large messages is split into several groups instead of one huge write.
	// At least one request is taken whatever its size. Zero: no bound.
	maxGroupBytes int

	mu      sync.Mutex
	pending []request
	closed  bool

	wake    chan struct{}  // capacity 1
	written chan written   // committer → completer, capacity maxWrittenGroups
	free    chan []request // group arrays to reuse
	stopped chan struct{}  // closed when the completer returns
}

// maxWrittenGroups bounds the groups written and not yet completed, so that a
// completer that falls behind (slow callbacks, a stalled disk) turns new
// commits into larger groups instead of an ever longer queue.
const maxWrittenGroups = 64

func newCommitter(apply applyFunc, maxGroupBytes int) *committer {
	c := &committer{
		apply:         apply,
		maxGroupBytes: maxGroupBytes,
		wake:          make(chan struct{}, 1),
		written:       make(chan written, maxWrittenGroups),
		free:          make(chan []request, 4),
		stopped:       make(chan struct{}),
	}
	go c.run()
	go c.complete()
	return c
}

// commit queues b. It never calls done itself: after close, done gets
// ErrClosed from a new goroutine.
func (c *committer) commit(b *Batch, done func(error)) {
	r := request{batch: b, done: done}
	if b == nil {
		r.batch = &Batch{}
	} else {
		r.size, r.err = b.check()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if done != nil {
			go done(ErrClosed)
		}
		return
	}
	c.pending = append(c.pending, r)
	c.mu.Unlock()
	c.signal()
}

// flush waits until every request queued before it is durable and its
// callback has run.
func (c *committer) flush() error {
	ch := make(chan error, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pending = append(c.pending, request{done: func(err error) { ch <- err }})
	c.mu.Unlock()
	c.signal()
	return <-ch
}

// close refuses new requests, waits until everything already queued is
// durable and its callback has run, and stops the goroutines. It reports
// whether this call closed c.
func (c *committer) close() bool {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	c.signal()
	<-c.stopped
	return !already
}

func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a wake-up is already pending; the committer will see our request
	}
}

// run is the committer goroutine: it takes groups and applies them.
func (c *committer) run() {
	defer close(c.written)
	for {
		var spare []request
		select {
		case spare = <-c.free:
		default: // all arrays are in use: append allocates one
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			closed := c.closed
			c.mu.Unlock()
			if closed {
				return
			}
			if spare != nil {
				select {
				case c.free <- spare:
				default: // the completer has refilled free meanwhile
				}
			}
			<-c.wake
			continue
		}
		group := c.takeLocked(spare)
		c.mu.Unlock()
		c.written <- written{group: group, wait: c.apply(group)}
	}
}

// complete is the completer goroutine: it waits for each group to be durable
// and calls its callbacks, in order.
func (c *committer) complete() {
	defer close(c.stopped)
	for w := range c.written {
		var err error
		if w.wait != nil {
			err = w.wait()
		}
		for i := range w.group {
			r := &w.group[i]
			if r.done == nil {
				continue
			}
			if r.err != nil {
				r.done(r.err)
			} else {
				r.done(err)
			}
		}
		clear(w.group) // drop references to batches and callbacks for the GC
		select {
		case c.free <- w.group[:0]:
		default:
		}
	}
}

// takeLocked moves the next group from pending into spare (an empty slice
// whose array is free, or nil) and returns it.
func (c *committer) takeLocked(spare []request) []request {
	n := len(c.pending)
	if c.maxGroupBytes > 0 {
		size := 0
		for i := range c.pending {
			size += c.pending[i].size
			if size > c.maxGroupBytes && i > 0 {
				n = i
				break
			}
		}
	}
	if n == len(c.pending) {
		// The common case: take everything and give pending the spare array.
		group := c.pending
		c.pending = spare
		return group
	}
	group := append(spare, c.pending[:n]...)
	rest := copy(c.pending, c.pending[n:])
	clear(c.pending[rest:])
	c.pending = c.pending[:rest]
	return group
}

// opOverhead approximates the per-operation bytes of an encoded batch record
// beyond key and value (kind byte, length varints, key prefix and integers).
const opOverhead = 32

// check validates b before it is queued, so that a malformed batch fails
// alone instead of failing the group it would have joined, and estimates its
// encoded size.
func (b *Batch) check() (size int, err error) {
	for i := range b.Ops {
		op := &b.Ops[i]
		if op.Kind < OpPutMeta || op.Kind > OpDeleteQueue {
			return 0, fmt.Errorf("store: op %d: unknown kind %d", i, op.Kind)
		}
		size += opOverhead + len(op.Key) + len(op.Value)
	}
	return size, nil
}
