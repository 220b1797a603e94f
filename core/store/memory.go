package store

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"sync"
)

// memory is the Store of transient brokers and tests. It keeps the durable
// store's semantics (batches applied atomically in commit order, done called
// from the committer goroutine, in order, never from Commit) so code tested on
// it behaves the same on disk; it only skips the sync.
type memory struct {
	c *committer

	mu       sync.RWMutex
	closed   bool
	meta     map[Kind]map[string][]byte
	messages map[uint64][]byte
	queues   map[uint64]map[uint64][]byte // queue → seq → entry
}

// NewMemory returns an empty in-memory store.
func NewMemory() Store {
	s := &memory{
		meta:     make(map[Kind]map[string][]byte),
		messages: make(map[uint64][]byte),
		queues:   make(map[uint64]map[uint64][]byte),
	}
	// No group byte limit: a group costs no I/O, only time under mu.
	s.c = newCommitter(s.apply, 0)
	return s
}

func (s *memory) Commit(b *Batch, done func(error)) { s.c.commit(b, done) }

func (s *memory) Flush() error { return s.c.flush() }

func (s *memory) Durable() bool { return false }

func (s *memory) Close() error {
	if !s.c.close() {
		return ErrClosed
	}
	s.mu.Lock()
	s.closed = true
	s.meta, s.messages, s.queues = nil, nil, nil
	s.mu.Unlock()
	return nil
}

// apply is the committer's applyFunc. One lock for the whole group makes it
// atomic for readers, as the durable store's single Pebble batch is. Values
// are kept without copying: Batch says the caller must not modify them.
func (s *memory) apply(group []request) (wait func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range group {
		r := &group[i]
		if r.batch == nil || r.err != nil {
			continue
		}
		for j := range r.batch.Ops {
			s.applyOpLocked(&r.batch.Ops[j])
		}
	}
	return nil // nothing to wait for
}

func (s *memory) applyOpLocked(op *Op) {
	switch op.Kind {
	case OpPutMeta:
		m := s.meta[op.Meta]
		if m == nil {
			m = make(map[string][]byte)
			s.meta[op.Meta] = m
		}
		m[op.Key] = op.Value
	case OpDeleteMeta:
		delete(s.meta[op.Meta], op.Key)
	case OpPutMessage:
		s.messages[op.ID] = op.Value
	case OpDeleteMessage:
		delete(s.messages, op.ID)
	case OpPutEntry:
		q := s.queues[op.Queue]
		if q == nil {
			q = make(map[uint64][]byte)
			s.queues[op.Queue] = q
		}
		q[op.Seq] = op.Value
	case OpDeleteEntry:
		if q := s.queues[op.Queue]; q != nil {
			delete(q, op.Seq)
			if len(q) == 0 {
				delete(s.queues, op.Queue)
			}
		}
	case OpDeleteQueue:
		delete(s.queues, op.Queue)
	}
}

// Reads return copies, as the durable store does, so that a caller may keep
// or modify what it gets.

func (s *memory) Message(id uint64) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	v, ok := s.messages[id]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (s *memory) LastMessageID() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	var last uint64
	for id := range s.messages {
		last = max(last, id)
	}
	return last, nil
}

// The ForEach methods copy what they visit under the read lock and call fn
// without it, so fn may call the store (even Commit and wait for it) without
// deadlocking against the committer, and sees one consistent state.

func (s *memory) ForEachMessageID(fn func(id uint64) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	ids := make([]uint64, 0, len(s.messages))
	for id := range s.messages {
		ids = append(ids, id)
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (s *memory) ForEachMeta(k Kind, fn func(key string, value []byte) error) error {
	type record struct {
		key   string
		value []byte
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	records := make([]record, 0, len(s.meta[k]))
	for key, v := range s.meta[k] {
		records = append(records, record{key, bytes.Clone(v)})
	}
	s.mu.RUnlock()
	// strings.Compare is bytewise, the durable store's key order.
	slices.SortFunc(records, func(a, b record) int { return strings.Compare(a.key, b.key) })
	for _, r := range records {
		if err := fn(r.key, r.value); err != nil {
			return err
		}
	}
	return nil
}

func (s *memory) ForEachEntry(q uint64, fn func(seq uint64, value []byte) error) error {
	type entry struct {
		seq   uint64
		value []byte
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	entries := make([]entry, 0, len(s.queues[q]))
	for seq, v := range s.queues[q] {
		entries = append(entries, entry{seq, bytes.Clone(v)})
	}
	s.mu.RUnlock()
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range entries {
		if err := fn(e.seq, e.value); err != nil {
			return err
		}
	}
	return nil
}
