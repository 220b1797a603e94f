package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The shared suite: every test here runs against every Store.

// factory opens a store in dir. Stores that are not durable ignore dir.
type factory struct {
	name    string
	durable bool
	open    func(t testing.TB, dir string) Store
}

var factories = []factory{
	{name: "memory", open: func(testing.TB, string) Store { return NewMemory() }},
	{name: "durable", durable: true, open: func(t testing.TB, dir string) Store {
		s, err := OpenDurable(dir, DurableOptions{})
		if err != nil {
			t.Fatalf("OpenDurable: %v", err)
		}
		return s
	}},
}

// waitTimeout bounds every wait of the suite, so a lost callback fails the
// test instead of hanging it.
const waitTimeout = 10 * time.Second

// forEachStore runs test against a fresh store of every kind, closed at the end.
func forEachStore(t *testing.T, test func(t *testing.T, s Store)) {
	for _, f := range factories {
		t.Run(f.name, func(t *testing.T) {
			s := f.open(t, t.TempDir())
			if s.Durable() != f.durable {
				t.Fatalf("Durable() = %v", s.Durable())
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			test(t, s)
		})
	}
}

// commit commits b and waits for its done callback.
func commit(t testing.TB, s Store, b *Batch) error {
	t.Helper()
	ch := make(chan error, 1)
	s.Commit(b, func(err error) { ch <- err })
	return wait(t, ch)
}

func mustCommit(t testing.TB, s Store, b *Batch) {
	t.Helper()
	if err := commit(t, s, b); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func wait[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("no result after %v", waitTimeout)
		panic("unreachable")
	}
}

type kv struct {
	seq uint64
	key string
	val string
}

func entries(t testing.TB, s Store, q uint64) []kv {
	t.Helper()
	var got []kv
	if err := s.ForEachEntry(q, func(seq uint64, v []byte) error {
		got = append(got, kv{seq: seq, val: string(v)})
		return nil
	}); err != nil {
		t.Fatalf("ForEachEntry(%d): %v", q, err)
	}
	return got
}

func metas(t testing.TB, s Store, k Kind) []kv {
	t.Helper()
	var got []kv
	if err := s.ForEachMeta(k, func(key string, v []byte) error {
		got = append(got, kv{key: key, val: string(v)})
		return nil
	}); err != nil {
		t.Fatalf("ForEachMeta(%d): %v", k, err)
	}
	return got
}

func messageIDs(t testing.TB, s Store) []uint64 {
	t.Helper()
	var got []uint64
	if err := s.ForEachMessageID(func(id uint64) error {
		got = append(got, id)
		return nil
	}); err != nil {
		t.Fatalf("ForEachMessageID: %v", err)
	}
	return got
}

func message(t testing.TB, s Store, id uint64) string {
	t.Helper()
	v, err := s.Message(id)
	if err != nil {
		t.Fatalf("Message(%d): %v", id, err)
	}
	return string(v)
}

func equal[T comparable](t testing.TB, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// goid returns the current goroutine's id, to tell which goroutine ran a
// done callback. Only tests use it.
func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	return string(buf[:bytes.IndexByte(buf, ' ')])
}

func TestStoreOps(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		var b Batch
		b.PutMeta(KindQueue, "orders", []byte("q1"))
		b.PutMeta(KindQueue, "audit", []byte("q2"))
		b.PutMeta(KindExchange, "orders", []byte("x1")) // same key, other kind
		b.PutMessage(7, []byte("seven"))
		b.PutMessage(8, []byte("eight"))
		b.PutEntry(1, 10, []byte("e10"))
		b.PutEntry(1, 11, []byte("e11"))
		b.PutEntry(2, 10, []byte("f10"))
		mustCommit(t, s, &b)

		equal(t, "queues", metas(t, s, KindQueue), []kv{{key: "audit", val: "q2"}, {key: "orders", val: "q1"}})
		equal(t, "exchanges", metas(t, s, KindExchange), []kv{{key: "orders", val: "x1"}})
		equal(t, "users", metas(t, s, KindUser), nil)
		equal(t, "message ids", messageIDs(t, s), []uint64{7, 8})
		if got := message(t, s, 7); got != "seven" {
			t.Fatalf("Message(7) = %q", got)
		}
		equal(t, "queue 1", entries(t, s, 1), []kv{{seq: 10, val: "e10"}, {seq: 11, val: "e11"}})

		// Overwrite, then delete one of each.
		b = Batch{}
		b.PutMeta(KindQueue, "orders", []byte("q1'"))
		b.DeleteMeta(KindQueue, "audit")
		b.DeleteMeta(KindQueue, "absent") // deleting nothing is not an error
		b.PutMessage(8, []byte("eight'"))
		b.DeleteMessage(7)
		b.DeleteEntry(1, 10)
		b.PutEntry(1, 11, []byte("e11'"))
		mustCommit(t, s, &b)

		equal(t, "queues", metas(t, s, KindQueue), []kv{{key: "orders", val: "q1'"}})
		equal(t, "exchanges", metas(t, s, KindExchange), []kv{{key: "orders", val: "x1"}})
		equal(t, "message ids", messageIDs(t, s), []uint64{8})
		if got := message(t, s, 8); got != "eight'" {
			t.Fatalf("Message(8) = %q", got)
		}
		if _, err := s.Message(7); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Message(7) after delete: %v, want ErrNotFound", err)
		}
		equal(t, "queue 1", entries(t, s, 1), []kv{{seq: 11, val: "e11'"}})

		b = Batch{}
		b.DeleteQueue(1)
		mustCommit(t, s, &b)
		equal(t, "queue 1", entries(t, s, 1), nil)
		equal(t, "queue 2", entries(t, s, 2), []kv{{seq: 10, val: "f10"}})
	})
}

// TestStoreLaterOpWins checks that within a batch, and between batches
// applied in one group, a later op on the same key overrides an earlier one
// whatever the mix of namespaces around it.
func TestStoreLaterOpWins(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		var b Batch
		b.PutMessage(1, []byte("a"))
		b.PutEntry(1, 1, []byte("a"))
		b.PutMeta(KindQueue, "q", []byte("a"))
		b.DeleteMessage(1)
		b.DeleteEntry(1, 1)
		b.DeleteMeta(KindQueue, "q")
		b.DeleteMessage(2)
		b.PutMessage(2, []byte("b"))
		b.DeleteQueue(2)
		b.PutEntry(2, 2, []byte("b"))
		b.PutMeta(KindQueue, "r", []byte("x"))
		b.PutMessage(3, []byte("x"))
		b.PutMeta(KindQueue, "r", []byte("b"))
		b.PutMessage(3, []byte("b"))
		mustCommit(t, s, &b)
		equal(t, "message ids", messageIDs(t, s), []uint64{2, 3})
		if got := message(t, s, 3); got != "b" {
			t.Fatalf("Message(3) = %q", got)
		}
		equal(t, "queue 1", entries(t, s, 1), nil)
		equal(t, "queue 2", entries(t, s, 2), []kv{{seq: 2, val: "b"}})
		equal(t, "queues", metas(t, s, KindQueue), []kv{{key: "r", val: "b"}})

		// The same across batches committed together, which usually share
		// a group.
		results := make(chan error, 3)
		var b1, b2, b3 Batch
		b1.PutEntry(3, 1, []byte("a"))
		b1.PutMessage(10, []byte("a"))
		b2.DeleteQueue(3)
		b2.DeleteMessage(10)
		b3.PutEntry(3, 2, []byte("c"))
		b3.PutMessage(10, []byte("c"))
		for _, b := range []*Batch{&b1, &b2, &b3} {
			s.Commit(b, func(err error) { results <- err })
		}
		for range 3 {
			if err := wait(t, results); err != nil {
				t.Fatal(err)
			}
		}
		equal(t, "queue 3", entries(t, s, 3), []kv{{seq: 2, val: "c"}})
		if got := message(t, s, 10); got != "c" {
			t.Fatalf("Message(10) = %q", got)
		}
	})
}

func TestStoreEmptyValues(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		var b Batch
		b.PutMeta(KindUser, "", nil) // empty key and value
		b.PutMessage(1, nil)
		b.PutEntry(1, 0, nil) // seq 0
		mustCommit(t, s, &b)
		equal(t, "users", metas(t, s, KindUser), []kv{{key: ""}})
		equal(t, "queue 1", entries(t, s, 1), []kv{{seq: 0}})
		v, err := s.Message(1)
		if err != nil || len(v) != 0 {
			t.Fatalf("Message(1) = %q, %v", v, err)
		}
		// An empty or nil batch commits and reports nil.
		mustCommit(t, s, &Batch{})
		if err := commit(t, s, nil); err != nil {
			t.Fatalf("nil batch: %v", err)
		}
	})
}

func TestStoreLargeMessage(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
		var b Batch
		b.PutMessage(1, big)
		b.PutEntry(1, 1, []byte("e"))
		mustCommit(t, s, &b)
		got, err := s.Message(1)
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("Message(1): %d bytes, %v; want %d bytes", len(got), err, len(big))
		}
		// One batch of 48 MiB: beyond Pebble's large-batch threshold (half a
		// memtable), which takes another path through its commit pipeline.
		b = Batch{}
		for id := uint64(2); id <= 4; id++ {
			b.PutMessage(id, big)
		}
		mustCommit(t, s, &b)
		for id := uint64(2); id <= 4; id++ {
			if got, err := s.Message(id); err != nil || !bytes.Equal(got, big) {
				t.Fatalf("Message(%d): %d bytes, %v", id, len(got), err)
			}
		}
	})
}

func TestStoreOrdering(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		seqs := []uint64{1 << 40, 2, 256, 255, 0, math.MaxUint64, 1 << 32, 1}
		keys := []string{"b", "a\x00", "ä", "a", "B", "ab", ""}
		var b Batch
		for _, seq := range seqs {
			b.PutEntry(5, seq, []byte(strconv.FormatUint(seq, 10)))
			b.PutMessage(seq, []byte("m"))
		}
		for _, k := range keys {
			b.PutMeta(KindBinding, k, []byte(k))
		}
		mustCommit(t, s, &b)

		sorted := slices.Sorted(slices.Values(seqs))
		var want []kv
		for _, seq := range sorted {
			want = append(want, kv{seq: seq, val: strconv.FormatUint(seq, 10)})
		}
		equal(t, "entries", entries(t, s, 5), want)
		equal(t, "message ids", messageIDs(t, s), sorted)

		want = nil
		for _, k := range slices.Sorted(slices.Values(keys)) { // bytewise
			want = append(want, kv{key: k, val: k})
		}
		equal(t, "bindings", metas(t, s, KindBinding), want)

		// fn's error stops the iteration and is returned as is.
		stop := errors.New("stop")
		n := 0
		err := s.ForEachEntry(5, func(uint64, []byte) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("ForEachEntry with failing fn: %v after %d calls", err, n)
		}
		n = 0
		err = s.ForEachMeta(KindBinding, func(string, []byte) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("ForEachMeta with failing fn: %v after %d calls", err, n)
		}
		n = 0
		err = s.ForEachMessageID(func(uint64) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("ForEachMessageID with failing fn: %v after %d calls", err, n)
		}
	})
}

func TestStoreMetaKindsAreSeparate(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		var b Batch
		for k := KindVHost; k <= KindDedup; k++ {
			b.PutMeta(k, "k", []byte{byte(k)})
		}
		b.PutMeta(Kind(255), "k", []byte{255}) // the last kind: no overflow into the next namespace
		mustCommit(t, s, &b)
		for k := KindVHost; k <= KindDedup; k++ {
			equal(t, fmt.Sprint("kind ", k), metas(t, s, k), []kv{{key: "k", val: string([]byte{byte(k)})}})
		}
		equal(t, "kind 255", metas(t, s, Kind(255)), []kv{{key: "k", val: "\xff"}})
		b = Batch{}
		b.DeleteMeta(KindQueue, "k")
		mustCommit(t, s, &b)
		equal(t, "queues", metas(t, s, KindQueue), nil)
		equal(t, "exchanges", metas(t, s, KindExchange), []kv{{key: "k", val: "\x04"}})
	})
}

func TestStoreDeleteQueue(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		queues := []uint64{0, 1, 2, 3, 1 << 40, math.MaxUint64}
		var b Batch
		for _, q := range queues {
			for _, seq := range []uint64{0, 1, math.MaxUint64} {
				b.PutEntry(q, seq, []byte("v"))
			}
		}
		b.PutMessage(2, []byte("message 2")) // messages are not entries
		mustCommit(t, s, &b)

		for i, q := range queues {
			b = Batch{}
			b.DeleteQueue(q)
			mustCommit(t, s, &b)
			equal(t, fmt.Sprint("deleted queue ", q), entries(t, s, q), nil)
			for _, other := range queues[i+1:] {
				if got := len(entries(t, s, other)); got != 3 {
					t.Fatalf("after deleting queue %d, queue %d has %d entries, want 3", q, other, got)
				}
			}
		}
		equal(t, "message ids", messageIDs(t, s), []uint64{2})

		// Puts after a DeleteQueue, in the same batch, survive it.
		b = Batch{}
		b.PutEntry(1, 1, []byte("old"))
		b.DeleteQueue(1)
		b.PutEntry(1, 2, []byte("new"))
		mustCommit(t, s, &b)
		equal(t, "queue 1", entries(t, s, 1), []kv{{seq: 2, val: "new"}})
	})
}

func TestStoreLastMessageID(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		last := func() uint64 {
			id, err := s.LastMessageID()
			if err != nil {
				t.Fatalf("LastMessageID: %v", err)
			}
			return id
		}
		if id := last(); id != 0 {
			t.Fatalf("empty store: LastMessageID = %d", id)
		}
		var b Batch
		b.PutMessage(2, []byte("a"))
		b.PutMessage(1<<40, []byte("b"))
		b.PutMessage(255, []byte("c"))
		b.PutEntry(math.MaxUint64, math.MaxUint64, nil) // entries are not messages
		mustCommit(t, s, &b)
		if id := last(); id != 1<<40 {
			t.Fatalf("LastMessageID = %d, want %d", id, uint64(1<<40))
		}
		b = Batch{}
		b.DeleteMessage(1 << 40)
		mustCommit(t, s, &b)
		if id := last(); id != 255 {
			t.Fatalf("after delete: LastMessageID = %d, want 255", id)
		}
		if _, err := s.Message(1 << 40); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Message of deleted id: %v, want ErrNotFound", err)
		}
		if _, err := s.Message(12345); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Message of unknown id: %v, want ErrNotFound", err)
		}
	})
}

// TestStoreDoneOrder checks that done callbacks run in commit order, on a
// goroutine other than the caller's, and that reads see a batch once its
// callback has run.
func TestStoreDoneOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		const n = 2000
		caller := goid()
		order := make(chan int, n)
		var wrong sync.Once
		wrongGoroutine := make(chan struct{})
		for i := range n {
			var b Batch
			b.PutEntry(1, uint64(i), nil)
			s.Commit(&b, func(err error) {
				if err != nil {
					t.Errorf("commit %d: %v", i, err)
				}
				if goid() == caller {
					wrong.Do(func() { close(wrongGoroutine) })
				}
				order <- i
			})
		}
		for want := range n {
			if got := wait(t, order); got != want {
				t.Fatalf("done callback %d ran in position %d", got, want)
			}
		}
		select {
		case <-wrongGoroutine:
			t.Fatal("a done callback ran on the committing goroutine")
		default:
		}
		if got := len(entries(t, s, 1)); got != n {
			t.Fatalf("%d entries after every callback, want %d", got, n)
		}
	})
}

// TestStoreBatchAtomicity checks that an invalid batch fails alone and
// leaves no trace, and that readers never see half a batch.
func TestStoreBatchAtomicity(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		good1, bad, good2 := make(chan error, 1), make(chan error, 1), make(chan error, 1)
		var b1, b2, b3 Batch
		b1.PutEntry(1, 1, nil)
		b2.PutEntry(1, 2, nil)
		b2.PutMessage(2, []byte("x"))
		b2.Ops = append(b2.Ops, Op{Kind: OpKind(99)})
		b3.PutEntry(1, 3, nil)
		s.Commit(&b1, func(err error) { good1 <- err })
		s.Commit(&b2, func(err error) { bad <- err })
		s.Commit(&b3, func(err error) { good2 <- err })
		if err := wait(t, good1); err != nil {
			t.Fatalf("first batch: %v", err)
		}
		if err := wait(t, bad); err == nil {
			t.Fatal("batch with an unknown op kind committed")
		}
		if err := wait(t, good2); err != nil {
			t.Fatalf("third batch: %v", err)
		}
		equal(t, "entries", entries(t, s, 1), []kv{{seq: 1}, {seq: 3}})
		equal(t, "message ids", messageIDs(t, s), nil)

		// Each batch puts two entries and deletes the previous two: a reader
		// must always see exactly two.
		const rounds = 300
		stop := make(chan struct{})
		readerErr := make(chan error, 1)
		go func() {
			for {
				select {
				case <-stop:
					readerErr <- nil
					return
				default:
				}
				n := 0
				if err := s.ForEachEntry(2, func(uint64, []byte) error { n++; return nil }); err != nil {
					readerErr <- err
					return
				}
				if n != 0 && n != 2 {
					readerErr <- fmt.Errorf("reader saw %d entries", n)
					return
				}
			}
		}()
		var last chan error
		for i := range uint64(rounds) {
			var b Batch
			if i > 0 {
				b.DeleteEntry(2, 2*i-2)
				b.DeleteEntry(2, 2*i-1)
			}
			b.PutEntry(2, 2*i, nil)
			b.PutEntry(2, 2*i+1, nil)
			ch := make(chan error, 1)
			s.Commit(&b, func(err error) { ch <- err })
			last = ch
		}
		if err := wait(t, last); err != nil {
			t.Fatalf("commit: %v", err)
		}
		close(stop)
		if err := wait(t, readerErr); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStoreFlush(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		const n = 500
		for i := range n {
			var b Batch
			b.PutEntry(1, uint64(i), nil)
			s.Commit(&b, nil) // no callback: Flush is how we know
		}
		flushed := make(chan error, 1)
		go func() { flushed <- s.Flush() }()
		if err := wait(t, flushed); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if got := len(entries(t, s, 1)); got != n {
			t.Fatalf("%d entries after Flush, want %d", got, n)
		}
		if err := s.Flush(); err != nil { // nothing pending
			t.Fatalf("idle Flush: %v", err)
		}
	})
}

func TestStoreClose(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		// Batches committed before Close are applied by it.
		const n = 200
		results := make(chan error, n)
		for i := range n {
			var b Batch
			b.PutEntry(1, uint64(i), nil)
			s.Commit(&b, func(err error) { results <- err })
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for range n {
			if err := wait(t, results); err != nil {
				t.Fatalf("batch committed before Close: %v", err)
			}
		}

		caller := goid()
		late := make(chan string, 1)
		var b Batch
		b.PutEntry(1, 1000, nil)
		s.Commit(&b, func(err error) {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("Commit after Close: %v, want ErrClosed", err)
			}
			late <- goid()
		})
		if g := wait(t, late); g == caller {
			t.Fatal("Commit after Close called done on the caller's goroutine")
		}
		if err := s.Flush(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Flush after Close: %v", err)
		}
		if err := s.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := s.Message(1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Message after Close: %v", err)
		}
		if _, err := s.LastMessageID(); !errors.Is(err, ErrClosed) {
			t.Fatalf("LastMessageID after Close: %v", err)
		}
		if err := s.ForEachEntry(1, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Fatalf("ForEachEntry after Close: %v", err)
		}
		if err := s.ForEachMeta(KindQueue, func(string, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Fatalf("ForEachMeta after Close: %v", err)
		}
		if err := s.ForEachMessageID(func(uint64) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Fatalf("ForEachMessageID after Close: %v", err)
		}
	})
}

// TestStoreReadDuringIteration checks that fn may read and commit while an
// iteration is in progress.
func TestStoreReadDuringIteration(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		var b Batch
		for i := range uint64(10) {
			b.PutEntry(1, i, nil)
			b.PutMessage(i, []byte{byte(i)})
		}
		mustCommit(t, s, &b)
		err := s.ForEachEntry(1, func(seq uint64, _ []byte) error {
			if got := message(t, s, seq); got != string([]byte{byte(seq)}) {
				return fmt.Errorf("message %d = %q", seq, got)
			}
			var d Batch
			d.DeleteEntry(1, seq)
			d.DeleteMessage(seq)
			return commit(t, s, &d)
		})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "entries", entries(t, s, 1), nil)
		equal(t, "message ids", messageIDs(t, s), nil)
	})
}

// TestStoreConcurrentCommits runs many committers at once (run it with
// -race): each sees its own callbacks in its own commit order, and every
// batch lands.
func TestStoreConcurrentCommits(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		const goroutines, perGoroutine = 16, 200
		errs := make(chan error, goroutines)
		for g := range uint64(goroutines) {
			go func() {
				next := make(chan uint64, perGoroutine)
				for i := range uint64(perGoroutine) {
					var b Batch
					id := g<<32 | i
					b.PutMessage(id, []byte("m"))
					b.PutEntry(g, i, []byte("e"))
					if i%4 == 3 { // ack an earlier one
						b.DeleteEntry(g, i-1)
						b.DeleteMessage(id - 1)
					}
					s.Commit(&b, func(err error) {
						if err != nil {
							t.Errorf("commit: %v", err)
						}
						next <- i
					})
				}
				for want := range uint64(perGoroutine) {
					if got := <-next; got != want {
						errs <- fmt.Errorf("goroutine %d: callback %d in position %d", g, got, want)
						return
					}
				}
				errs <- nil
			}()
		}
		for range goroutines {
			if err := wait(t, errs); err != nil {
				t.Fatal(err)
			}
		}
		for g := range uint64(goroutines) {
			got := entries(t, s, g)
			if len(got) != perGoroutine*3/4 {
				t.Fatalf("queue %d: %d entries, want %d", g, len(got), perGoroutine*3/4)
			}
		}
		if got := len(messageIDs(t, s)); got != goroutines*perGoroutine*3/4 {
			t.Fatalf("%d messages, want %d", got, goroutines*perGoroutine*3/4)
		}
	})
}

// TestStoreHeavyDeletes acks almost everything of a long queue, as a queue
// that keeps up does, and checks iteration still finds the rest.
func TestStoreHeavyDeletes(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		const n, keep = 20000, 10
		var b Batch
		for i := range uint64(n) {
			b.PutEntry(1, i, []byte("entry"))
			b.PutMessage(i, []byte("message"))
		}
		mustCommit(t, s, &b)
		b = Batch{}
		for i := range uint64(n - keep) {
			b.DeleteEntry(1, i)
			b.DeleteMessage(i)
		}
		mustCommit(t, s, &b)
		if got := len(entries(t, s, 1)); got != keep {
			t.Fatalf("%d entries, want %d", got, keep)
		}
		if d, ok := s.(*durable); ok {
			// Move the tombstones from the memtable into sstables and check
			// again: the scan now has to skip them on disk.
			if err := d.db.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := len(entries(t, s, 1)); got != keep {
				t.Fatalf("after flush: %d entries, want %d", got, keep)
			}
		}
		if id, err := s.LastMessageID(); err != nil || id != n-1 {
			t.Fatalf("LastMessageID = %d, %v", id, err)
		}
	})
}
