package conformance

import (
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"
)

// latencies collects durations from any goroutine and reports their median
// and 99th percentile.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// report adds name-p50-ms and name-p99-ms to b's results.
func (l *latencies) report(b *testing.B, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	p := func(q float64) float64 {
		return float64(l.d[min(len(l.d)-1, int(q*float64(len(l.d))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), name+"-p50-ms")
	b.ReportMetric(p(0.99), name+"-p99-ms")
}

// stamp writes the time into the first 8 bytes of a payload; sinceStamp
// reads it back, in the same process, when the message arrives.
func stamp(p []byte) { binary.BigEndian.PutUint64(p, uint64(time.Now().UnixNano())) }

func sinceStamp(p []byte) time.Duration {
	if len(p) < 8 {
		return 0
	}
	return time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(p)))
}
