package gateway

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		live uint64
		want int
	}{
		{0, 3100},        // no collection yet: counts as 1 MiB
		{1 * mib, 3100},  // 1 MiB may grow to 32 MiB
		{2 * mib, 1500},  // 2 MiB + 15 × 2 MiB = 32 MiB
		{8 * mib, 300},   // 8 + 24 = 32
		{16 * mib, 100},  // half the floor: Go's default from here on
		{500 * mib, 100}, // a large heap is collected as usual
	} {
		if got := gcPercentFor(tt.live, 32*mib); got != tt.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tt.live/mib, got, tt.want)
		}
	}
}

func TestKeepGCFloorRaisesGOGCForASmallHeap(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set in the environment, which turns the floor off by design")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC() // a measured live heap: this test binary's few MiB
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { KeepGCFloor(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	for {
		metrics.Read(gogc)
		p := gogc[0].Value.Uint64()
		if p > 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is still %d with a live heap far below the floor", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
