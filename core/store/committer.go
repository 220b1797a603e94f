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

// applyFunc applies one group of requests, in order, skipping Flush markers
// and requests whose err is set, and makes them durable before returning. An
// error fails every request of the group, so the group must be all or nothing.
type applyFunc func(group []request) error

// committer implements group commit (DESIGN §4.5). Commit only appends to
// pending under mu and wakes the single committer goroutine with a
// non-blocking send on a capacity-1 channel, so a caller never waits for I/O.
// The goroutine takes everything pending, applies it as one group (one sync
// for the whole group) and then calls the done callbacks in commit order.
// While it syncs, new requests pile up and become the next group: the more
// callers wait, the larger the groups, and the cost of a sync is shared.
type committer struct {
	apply applyFunc
	// maxGroupBytes bounds the estimated size of a group so that a backlog of
	// large messages is split into several groups instead of one huge write.
	// At least one request is taken whatever its size. Zero: no bound.
	maxGroupBytes int

	mu      sync.Mutex
	pending []request
	closed  bool

	wake    chan struct{} // capacity 1
	stopped chan struct{} // closed when run returns
}

func newCommitter(apply applyFunc, maxGroupBytes int) *committer {
	c := &committer{
		apply:         apply,
		maxGroupBytes: maxGroupBytes,
		wake:          make(chan struct{}, 1),
		stopped:       make(chan struct{}),
	}
	go c.run()
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

// flush waits until every request queued before it has been applied.
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

// close refuses new requests, waits until everything already queued has been
// applied and stops the goroutine. It reports whether this call closed c.
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

func (c *committer) run() {
	defer close(c.stopped)
	var group []request // reused: swapped with pending
	for {
		c.mu.Lock()
		group = c.takeLocked(group[:0])
		closed := c.closed
		c.mu.Unlock()
		if len(group) == 0 {
			if closed {
				return
			}
			<-c.wake
			continue
		}
		err := c.apply(group)
		for i := range group {
			r := &group[i]
			if r.done == nil {
				continue
			}
			if r.err != nil {
				r.done(r.err)
			} else {
				r.done(err)
			}
		}
		clear(group) // drop references to batches and callbacks for the GC
	}
}

// takeLocked moves the next group from pending into spare (an empty slice
// whose array is free) and returns it.
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
