package gateway

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// A broker's live heap is often a few megabytes (connections, queue indexes,
// the messages in flight), while it allocates that much every few hundred
// messages. With Go's default GOGC of 100 the collector then runs dozens of
// times a second: under the SQS benchmark, 65 collections a second, each
// taking a quarter of the CPUs for a few milliseconds. KeepGCFloor raises
// GOGC while the live heap is small, so that the heap may grow to at least
// gcFloorBytes before the next collection, and lowers it back to 100 as the
// live heap grows past half of that: a large heap is collected as Go
// normally does. In six interleaved pairs of SQS benchmark runs, this took
// the broker's CPU per message from 41 to 35 µs (a 4 MiB floor, Go's own,
// against 32 MiB); 64 MiB did no better than 32, as a larger heap also
// leaves less of the CPU caches to everything else. The cost is memory: a
// busy broker with a small live heap holds up to gcFloorBytes of heap
// instead of twice its live heap.
//
// Setting GOGC in the environment turns this off: the operator's choice wins.
const gcFloorBytes = 32 << 20

// gcFloorEvery is how often the live heap is looked at. Each change of GOGC
// briefly stops the world, so it is changed only when it moves by a quarter.
const gcFloorEvery = 500 * time.Millisecond

// KeepGCFloor adjusts GOGC until ctx ends, unless GOGC is set. It sets a
// process-wide setting, so it is for the process's main (cmd/mqgate) rather
// than for Gateway, which may share its process with other code.
func KeepGCFloor(ctx context.Context) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := 100
	t := time.NewTicker(gcFloorEvery)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if p := gcPercentFor(sample[0].Value.Uint64(), gcFloorBytes); p*4 < current*3 || p*3 > current*4 {
			debug.SetGCPercent(p)
			current = p
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcPercentFor is the GOGC that lets a heap of live bytes grow to floor
// before it is collected, and never less than Go's default of 100. A live
// heap not measured yet (0: no collection has run) counts as 1 MiB.
func gcPercentFor(live, floor uint64) int {
	live = max(live, 1<<20)
	if 2*live >= floor {
		return 100
	}
	return int((floor - live) * 100 / live)
}
