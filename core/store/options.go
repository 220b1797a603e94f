package store

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/cockroachdb/pebble/v2"
)

// DurableOptions configures OpenDurable. The zero value is ready to use.
type DurableOptions struct {
	// Logger receives Pebble's messages: errors at Error, its chatter (flushes,
	// compactions, WAL recycling) at Debug. Nil discards them.
	Logger *slog.Logger
	// CacheBytes is the size of Pebble's block cache. Zero means
	// DefaultCacheBytes.
	CacheBytes int64
	// NoSync skips the fsync of each group, so a crash may lose commits that
	// were reported done. For benchmarks only. Flush still syncs.
	NoSync bool
}

// DefaultCacheBytes is the block cache size when DurableOptions.CacheBytes is
// zero. Reads are rare on the hot path (the broker keeps queues in memory and
// reads back only message bodies it evicted), so a modest cache suffices.
const DefaultCacheBytes = 64 << 20

const (
	// memTableSize: a queue's messages are usually acked soon after they are
	// written. A put and its delete that meet in the same memtable never
	// reach an sstable as data (only the tombstone is flushed), so a large
	// memtable saves most of the write amplification of a queue that keeps
	// up. 32 MiB keeps a 16 MiB message at Pebble's large-batch threshold
	// (half a memtable) and the memtables' worst case (below) at 128 MiB, part
	// of the budget that lets a million queued 1 KiB messages fit in 600 MB.
	memTableSize = 32 << 20
	// maxGroupBytes bounds one group commit's batch (see committer), so a
	// backlog of large messages never forms a batch above the large-batch
	// threshold, which Pebble handles by forcing a memtable flush.
	maxGroupBytes = 16 << 20
)

// pebbleOptions returns Pebble's configuration for the broker's workload:
// small synced writes from one committer, frequent deletes, rare reads.
func pebbleOptions(log *slog.Logger) *pebble.Options {
	pl := pebbleLogger{log: log}
	// Pebble's events (flushes, compactions, WAL files) at Debug, so that
	// they are there when asked for; a slow disk is worth a warning.
	events := pebble.MakeLoggingEventListener(pl)
	events.DiskSlow = func(info pebble.DiskSlowInfo) {
		log.Warn(fmt.Sprint(info), "engine", "pebble")
	}
	o := &pebble.Options{
		// Pinned rather than FormatNewest, so that upgrading Pebble never
		// ratchets the on-disk format and a downgrade stays possible.
		FormatMajorVersion: pebble.FormatValueSeparation,
		Logger:             pl,
		EventListener:      &events,
		MemTableSize:       memTableSize,
		// Up to three full memtables may wait for their flush while a fourth
		// fills, so a slow flush does not stall publishers at once. The
		// worst case is 128 MiB of memtables.
		MemTableStopWritesThreshold: 4,
		// Compact L0 early: acks leave L0 full of tombstones that slow down
		// the scans of recovery until they are compacted away.
		L0CompactionThreshold: 2,
		// Pebble's default (12) stops all writes when L0 has many sublevels,
		// which here would stall every publisher of every queue at once. Read
		// amplification matters little to a broker that mostly writes; the
		// broker's own disk watermarks are the place to push back.
		L0StopWritesThreshold: 1000,
		// One compaction normally, leaving the CPU to the broker; up to half
		// the cores (at least two) when compactions fall behind, as acks make
		// garbage quickly.
		CompactionConcurrencyRange: func() (int, int) {
			return 1, max(2, runtime.GOMAXPROCS(0)/2)
		},
	}
	// Every commit is synced by the committer, so background WAL syncs would
	// only add I/O; WALBytesPerSync stays 0. The WAL itself stays enabled: it
	// is what makes a commit durable.
	return o
}

// pebbleLogger adapts slog to Pebble's Logger so that Pebble never writes to
// stderr through the standard log package (its default).
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "engine", "pebble")
	}
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "engine", "pebble")
}

// Fatalf must not return: Pebble calls it when continuing could corrupt data
// (a failed WAL write, detected corruption). Its default exits the process;
// a panic does the same but runs deferred functions and shows the stack.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "engine", "pebble", "fatal", true)
	panic("store: pebble: " + msg)
}
