package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// inflight are the numbers of commits a benchmark keeps outstanding: one
// publisher waiting for each confirm, and busy brokers.
var inflight = []int{1, 64, 1024}

// BenchmarkDurableCommit measures synced commits of a 100-byte message and
// its queue entry, the work of one persistent publish. With N commits in
// flight, group commit should reach about N ÷ fsync latency (see
// BenchmarkFsync) until the CPU is the limit.
func BenchmarkDurableCommit(b *testing.B) {
	for _, n := range inflight {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			s, err := OpenDurable(b.TempDir(), DurableOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchCommit(b, s, n)
		})
	}
}

// BenchmarkMemoryCommit is the same load on the memory store: the cost of
// the committer and the callbacks without any I/O.
func BenchmarkMemoryCommit(b *testing.B) {
	for _, n := range inflight {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			s := NewMemory()
			defer s.Close()
			benchCommit(b, s, n)
		})
	}
}

// benchCommit commits b.N batches with at most n done callbacks outstanding,
// and reports and returns the rate.
func benchCommit(b *testing.B, s Store, n int) (msgPerSec float64) {
	body := make([]byte, 100)
	entry := make([]byte, 16) // about what the core keeps per entry
	sem := make(chan struct{}, n)
	done := func(err error) {
		if err != nil {
			b.Error(err)
		}
		<-sem
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		sem <- struct{}{}
		id := uint64(i) + 1
		batch := &Batch{Ops: make([]Op, 0, 2)}
		batch.PutMessage(id, body)
		batch.PutEntry(1, id, entry)
		s.Commit(batch, done)
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	msgPerSec = float64(b.N) / elapsed.Seconds()
	b.ReportMetric(msgPerSec, "msg/s")
	return msgPerSec
}

// BenchmarkDurableCommitFakeDisk is BenchmarkDurableCommit on a fake disk
// whose syncs take a fixed time (fakeDisk): the ratio of msg/s to N ÷ sync
// latency ("efficiency") measures group commit itself, free of the real
// disk's noise, until the CPU is the limit.
func BenchmarkDurableCommitFakeDisk(b *testing.B) {
	for _, n := range inflight {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			disk := newFakeDisk(200 * time.Microsecond)
			s, err := openDurable("/db", DurableOptions{}, disk)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rate := benchCommit(b, s, n)
			latency := disk.meanSync().Seconds()
			b.ReportMetric(latency*1e6, "µs/sync")
			b.ReportMetric(rate/(float64(n)/latency), "efficiency")
		})
	}
}

// BenchmarkFsync measures this disk's sync latency: write 4 KiB to a temp
// file and f.Sync(). "append" grows the file, as a new WAL does (the size
// changes, so the file system journals metadata too); "overwrite" rewrites a
// preallocated file, as a recycled WAL does. ns/op is the latency; fsync/s is
// the most syncs, hence groups, a second; msg/s@N is the group-commit limit
// with N commits in flight.
func BenchmarkFsync(b *testing.B) {
	const slots = 256
	for _, mode := range []string{"append", "overwrite"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if mode == "overwrite" {
				if _, err := f.Write(make([]byte, slots*4096)); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			buf := make([]byte, 4096)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if mode == "overwrite" {
					_, err = f.WriteAt(buf, int64(i%slots)*4096)
				} else {
					_, err = f.Write(buf)
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			perSync := time.Since(start).Seconds() / float64(b.N)
			b.StopTimer()
			b.ReportMetric(1/perSync, "fsync/s")
			for _, n := range inflight[1:] {
				b.ReportMetric(float64(n)/perSync, fmt.Sprintf("msg/s@%d", n))
			}
		})
	}
}
