package store

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Tests of the durable store alone; the shared suite is in store_test.go.

// TestDurableReopen checks that a closed durable store comes back with
// everything.
func TestDurableReopen(t *testing.T) {
	for _, f := range factories {
		if !f.durable {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			s := f.open(t, dir)
			var b Batch
			b.PutMeta(KindVHost, "/", []byte("vhost"))
			b.PutMeta(KindQueue, "q", []byte("queue"))
			b.PutMessage(1, []byte("one"))
			b.PutMessage(1<<40, []byte("big id"))
			b.PutEntry(3, 1, []byte("e1"))
			b.PutEntry(3, 2, []byte("e2"))
			b.PutEntry(4, 1, []byte("gone"))
			mustCommit(t, s, &b)
			b = Batch{}
			b.DeleteQueue(4)
			b.DeleteEntry(3, 1)
			b.PutEntry(3, 3, []byte("e3"))
			s.Commit(&b, nil) // Close must apply it
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			s = f.open(t, dir)
			defer s.Close()
			equal(t, "vhosts", metas(t, s, KindVHost), []kv{{key: "/", val: "vhost"}})
			equal(t, "queues", metas(t, s, KindQueue), []kv{{key: "q", val: "queue"}})
			equal(t, "message ids", messageIDs(t, s), []uint64{1, 1 << 40})
			if got := message(t, s, 1<<40); got != "big id" {
				t.Fatalf("Message(1<<40) = %q", got)
			}
			equal(t, "queue 3", entries(t, s, 3), []kv{{seq: 2, val: "e2"}, {seq: 3, val: "e3"}})
			equal(t, "queue 4", entries(t, s, 4), nil)
			if id, err := s.LastMessageID(); err != nil || id != 1<<40 {
				t.Fatalf("LastMessageID = %d, %v", id, err)
			}
		})
	}
}

func TestDurableOpenErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDurable(dir, DurableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Pebble locks the directory: a second store on it would corrupt both.
	if s2, err := OpenDurable(dir, DurableOptions{}); err == nil || s2 != nil {
		t.Fatalf("opened the same directory twice: %v, %v", s2, err)
	}
	s.Close()

	// A Pebble database that is not a store is refused, not misread.
	foreign := t.TempDir()
	db, err := pebble.Open(foreign, &pebble.Options{Logger: pebbleLogger{log: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("some key"), []byte("v"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := OpenDurable(foreign, DurableOptions{}); err == nil {
		s.Close()
		t.Fatal("opened a foreign Pebble database")
	}
}

// TestDurableGroupCommit checks that commits in flight together share
// syncs instead of paying one each.
func TestDurableGroupCommit(t *testing.T) {
	disk := newFakeDisk(2 * time.Millisecond)
	s, err := openDurable("/db", DurableOptions{}, disk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := disk.syncs.Load()
	const n = 1000
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range uint64(n) {
		var b Batch
		b.PutMessage(i, []byte("m"))
		b.PutEntry(1, i, nil)
		s.Commit(&b, func(err error) {
			if err != nil {
				t.Errorf("commit: %v", err)
			}
			wg.Done()
		})
	}
	flushed := make(chan error, 1)
	go func() { wg.Wait(); flushed <- s.Flush() }()
	if err := wait(t, flushed); err != nil {
		t.Fatal(err)
	}
	syncs := disk.syncs.Load() - before
	if syncs == 0 || syncs > n/10 {
		t.Fatalf("%d commits took %d syncs", n, syncs)
	}
	t.Logf("%d commits, %d syncs", n, syncs)
}

// TestDurableNoSync checks that NoSync skips the syncs of commits but that
// Flush still syncs.
func TestDurableNoSync(t *testing.T) {
	disk := newFakeDisk(0)
	s, err := openDurable("/db", DurableOptions{NoSync: true}, disk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := disk.syncs.Load()
	for i := range uint64(100) {
		var b Batch
		b.PutEntry(1, i, nil)
		mustCommit(t, s, &b)
	}
	if got := disk.syncs.Load() - before; got != 0 {
		t.Fatalf("NoSync commits synced %d times", got)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := disk.syncs.Load() - before; got == 0 {
		t.Fatal("Flush did not sync")
	}
	if got := len(entries(t, s, 1)); got != 100 {
		t.Fatalf("%d entries, want 100", got)
	}
}

// TestDurableLogger checks that Pebble logs through the given logger (and so
// not to stderr).
func TestDurableLogger(t *testing.T) {
	var records recorder
	log := slog.New(&records)
	s, err := OpenDurable(t.TempDir(), DurableOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.PutEntry(1, 1, nil)
	mustCommit(t, s, &b)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if records.n.Load() == 0 {
		t.Fatal("Pebble logged nothing through the logger")
	}
}

// recorder is a slog.Handler that counts Pebble's records at every level.
type recorder struct{ n atomic.Int64 }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "engine" && a.Value.String() == "pebble" {
			r.n.Add(1)
		}
		return true
	})
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }
