package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// durable is the Store on Pebble. Writes go through the committer, which
// turns each group of batches into one Pebble batch committed with one WAL
// fsync; reads go straight to Pebble.
type durable struct {
	db     *pebble.DB
	noSync bool
	c      *committer

	// key is the committer's scratch buffer for encoding keys.
	key []byte

	// Reads hold the gate so that Close never closes Pebble under a reader
	// (Pebble panics on a closed DB).
	gate readGate
}

// OpenDurable opens, or creates, the durable store in dir.
func OpenDurable(dir string, opts DurableOptions) (Store, error) {
	s, err := openDurable(dir, opts, nil)
	if err != nil {
		return nil, err // not a nil *durable in a non-nil Store
	}
	return s, nil
}

// openDurable is OpenDurable on the file system fs (nil: the OS's), which
// tests replace to control the disk.
func openDurable(dir string, opts DurableOptions, fs vfs.FS) (*durable, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cacheBytes := opts.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref() // the DB holds its own reference
	po := pebbleOptions(log)
	po.Cache = cache
	if fs == nil {
		fs = vfs.Default
	}
	po.FS = walFS{FS: fs}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if err := checkFormat(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	s := &durable{db: db, noSync: opts.NoSync}
	s.c = newCommitter(s.apply, maxGroupBytes)
	return s, nil
}

// checkFormat writes the format record into a new store and checks it in an
// existing one.
func checkFormat(db *pebble.DB) error {
	v, closer, err := db.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := db.NewIter(nil)
		if err != nil {
			return err
		}
		empty := !it.First()
		if err := it.Close(); err != nil {
			return err
		}
		if !empty {
			return errors.New("directory holds a Pebble database that is not an mqgate store")
		}
		return db.Set(formatKey, formatValue, pebble.Sync)
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if !bytes.Equal(v, formatValue) {
		return fmt.Errorf("unsupported store format %q (want %q)", v, formatValue)
	}
	return nil
}

func (s *durable) Commit(b *Batch, done func(error)) { s.c.commit(b, done) }

func (s *durable) Flush() error { return s.c.flush() }

func (s *durable) Durable() bool { return true }

func (s *durable) Close() error {
	if !s.c.close() {
		return ErrClosed
	}
	s.gate.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// apply is the committer's applyFunc: the whole group becomes one Pebble
// batch, so one WAL write and one fsync make every batch of it durable, and
// the group is atomic (which implies each batch is).
//
// ApplyNoSyncWait writes the batch to the WAL and the memtable and returns
// without waiting for the fsync, which the completer goroutine waits for
// (Batch.SyncWait) while this goroutine writes the next group: Pebble's WAL
// writer then syncs everything written during the previous fsync with the
// next one. CockroachDB writes its Raft log this way; Pebble marks the call
// experimental for that reason only.
func (s *durable) apply(group []request) (wait func() error) {
	size, flush := 0, false
	for i := range group {
		r := &group[i]
		switch {
		case r.batch == nil:
			flush = true
		case r.err == nil:
			size += r.size
		}
	}
	pb := s.db.NewBatchWithSize(size)
	// One pass per namespace: Pebble inserts a batch into the memtable's
	// skiplist in batch order, reusing the previous insert's position, so
	// keys that follow each other (ascending message ids, ascending seqs of
	// a queue) insert far faster than a message key and an entry key taken
	// in turn. Reordering is safe: the namespaces are disjoint key ranges
	// (a DeleteQueue covers entries only), and within one namespace the
	// commit order is kept, which decides what a later op on the same key
	// overrides.
	for _, ns := range [...]byte{nsMeta, nsMessage, nsEntry} {
		for i := range group {
			r := &group[i]
			if r.batch == nil || r.err != nil {
				continue
			}
			for j := range r.batch.Ops {
				op := &r.batch.Ops[j]
				if opNamespace[op.Kind] != ns {
					continue
				}
				if err := s.applyOp(pb, op); err != nil {
					pb.Close()
					return failed(fmt.Errorf("store: commit: %w", err))
				}
			}
		}
	}
	if s.noSync && !flush {
		err := pb.Commit(pebble.NoSync)
		pb.Close()
		if err != nil {
			return failed(fmt.Errorf("store: commit: %w", err))
		}
		return nil
	}
	if pb.Empty() {
		if !s.noSync {
			// Only Flush markers: every earlier group is durable before the
			// completer gets to this one, so there is nothing to sync.
			pb.Close()
			return nil
		}
		// NoSync: earlier groups were not synced. Pebble skips an empty
		// batch; a log record makes it sync the WAL.
		_ = pb.LogData(nil, nil)
	}
	if err := s.db.ApplyNoSyncWait(pb, pebble.Sync); err != nil {
		pb.Close()
		return failed(fmt.Errorf("store: commit: %w", err))
	}
	return func() error {
		err := pb.SyncWait()
		pb.Close() // only after SyncWait: the WAL writer may still read it
		if err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}
}

// failed is the wait of a group that could not be applied.
func failed(err error) func() error { return func() error { return err } }

func (s *durable) applyOp(pb *pebble.Batch, op *Op) error {
	// Pebble copies key and value into the batch, so one scratch buffer
	// serves every key of every group.
	var err error
	k := s.key[:0]
	switch op.Kind {
	case OpPutMeta:
		k = appendMetaKey(k, op.Meta, op.Key)
		err = pb.Set(k, op.Value, nil)
	case OpDeleteMeta:
		k = appendMetaKey(k, op.Meta, op.Key)
		err = pb.Delete(k, nil)
	case OpPutMessage:
		k = appendMessageKey(k, op.ID)
		err = pb.Set(k, op.Value, nil)
	case OpDeleteMessage:
		k = appendMessageKey(k, op.ID)
		err = pb.Delete(k, nil)
	case OpPutEntry:
		k = appendEntryKey(k, op.Queue, op.Seq)
		err = pb.Set(k, op.Value, nil)
	case OpDeleteEntry:
		k = appendEntryKey(k, op.Queue, op.Seq)
		err = pb.Delete(k, nil)
	case OpDeleteQueue:
		// One range tombstone instead of a point delete per entry: the cost
		// does not depend on the queue's length, and Pebble drops the range
		// in compaction.
		k = appendQueueKey(k, op.Queue)
		err = pb.DeleteRange(k, prefixEnd(k), nil)
	default:
		err = fmt.Errorf("unknown op kind %d", op.Kind) // unreachable: Batch.check
	}
	s.key = k
	return err
}

func (s *durable) Message(id uint64) ([]byte, error) {
	if !s.gate.enter() {
		return nil, ErrClosed
	}
	defer s.gate.exit()
	v, closer, err := s.db.Get(appendMessageKey(nil, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: message %d: %w", id, err)
	}
	data := bytes.Clone(v) // v is valid only until closer.Close
	if data == nil {
		data = []byte{}
	}
	return data, closer.Close()
}

func (s *durable) LastMessageID() (uint64, error) {
	var id uint64
	err := s.scan([]byte{nsMessage}, true, false, func(key, _ []byte) error {
		var ok bool
		if id, ok = messageID(key); !ok {
			return fmt.Errorf("store: malformed message key %x", key)
		}
		return errStopScan
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return id, err
}

func (s *durable) ForEachMessageID(fn func(id uint64) error) error {
	return s.scan([]byte{nsMessage}, false, false, func(key, _ []byte) error {
		id, ok := messageID(key)
		if !ok {
			return fmt.Errorf("store: malformed message key %x", key)
		}
		return fn(id)
	})
}

func (s *durable) ForEachMeta(k Kind, fn func(key string, value []byte) error) error {
	prefix := appendMetaKey(nil, k, "")
	return s.scan(prefix, false, true, func(key, value []byte) error {
		return fn(string(key[len(prefix):]), bytes.Clone(value))
	})
}

func (s *durable) ForEachEntry(q uint64, fn func(seq uint64, value []byte) error) error {
	return s.scan(appendQueueKey(nil, q), false, true, func(key, value []byte) error {
		seq, ok := entrySeq(key)
		if !ok {
			return fmt.Errorf("store: malformed entry key %x", key)
		}
		return fn(seq, bytes.Clone(value))
	})
}

// errStopScan ends a scan early without an error.
var errStopScan = errors.New("stop scan")

// scan calls fn for every key with the prefix, ascending (descending if
// reverse), with its value if values is set, and returns fn's first error.
// key and value are valid only during the call.
func (s *durable) scan(prefix []byte, reverse, values bool, fn func(key, value []byte) error) error {
	if !s.gate.enter() {
		return ErrClosed
	}
	defer s.gate.exit()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	valid := it.First
	next := it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	for ok := valid(); ok; ok = next() {
		var v []byte
		if values {
			if v, err = it.ValueAndErr(); err != nil {
				it.Close()
				return fmt.Errorf("store: scan: %w", err)
			}
		}
		if err := fn(it.Key(), v); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	return nil
}

// readGate lets Close wait for the reads in progress and refuse new ones. A
// read that starts another read from its callback does not deadlock with
// Close: the inner one fails with ErrClosed.
type readGate struct {
	mu      sync.Mutex
	readers int
	closed  bool
	drained chan struct{} // made by close when it has to wait
}

func (g *readGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.readers++
	return true
}

func (g *readGate) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.readers--
	if g.readers == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
}

func (g *readGate) close() {
	g.mu.Lock()
	g.closed = true
	if g.readers == 0 {
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.drained = ch
	g.mu.Unlock()
	<-ch
}
