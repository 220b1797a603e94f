//go:build soak

package core

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Soak tests run with: go test -tags soak -run Soak -v -timeout 30m ./core/
// They are behind a build tag because they take minutes and gigabytes of disk.

// TestSoakMillionPersistent queues 1,000,000 persistent 1 KiB messages in a
// durable queue with no consumer, checks the process stays under 600 MB of
// RSS (bodies leave memory once on disk), then restarts and checks every
// message is recovered, reporting RSS and recovery time.
func TestSoakMillionPersistent(t *testing.T) {
	const n = 1_000_000
	const limit = 600 << 20
	dir := t.TempDir()
	st, err := store.OpenDurable(dir, store.DurableOptions{})
	must(t, err)
	b, err := New(Config{Store: st})
	must(t, err)
	must(t, b.AddVHost("/"))
	must(t, b.PutUser("guest", "guest", nil))
	must(t, b.SetPermissions("guest", "/", ".*", ".*", ".*"))
	c, err := b.Connect("guest", "/", ConnectOptions{})
	must(t, err)
	s, err := c.OpenSession()
	must(t, err)
	_, err = s.DeclareQueue("soak", QueueOptions{Durable: true})
	must(t, err)

	start := time.Now()
	sem := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	var peak int64
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		body := make([]byte, 1024)
		copy(body, strconv.Itoa(i))
		_, err := s.Publish(&Message{RoutingKey: "soak", Body: body, Properties: Properties{DeliveryMode: Persistent}},
			PublishOptions{Confirm: func(err error) {
				if err != nil {
					panic(err)
				}
				<-sem
				wg.Done()
			}})
		must(t, err)
		if i%100_000 == 0 {
			peak = max(peak, rss(t))
		}
	}
	wg.Wait()
	pubTime := time.Since(start)
	runtime.GC()
	after := rss(t)
	peak = max(peak, after, hwm(t))
	t.Logf("published %d persistent 1 KiB messages in %v (%.0f msg/s); RSS %d MB, peak %d MB, bodies in memory %d MB",
		n, pubTime, n/pubTime.Seconds(), after>>20, peak>>20, b.MemoryInUse()>>20)
	if peak > limit {
		t.Errorf("peak RSS %d MB exceeds 600 MB", peak>>20)
	}
	must(t, b.Close())
	must(t, st.Close())
	b, st = nil, nil
	runtime.GC()

	start = time.Now()
	st, err = store.OpenDurable(dir, store.DurableOptions{})
	must(t, err)
	b, err = New(Config{Store: st})
	must(t, err)
	recovery := time.Since(start)
	info := b.VHost("/").Queue("soak").Info()
	runtime.GC()
	t.Logf("recovered %d messages in %v; RSS after recovery %d MB", info.Ready, recovery, rss(t)>>20)
	if info.Ready != n {
		t.Fatalf("recovered %d messages, want %d", info.Ready, n)
	}
	c, err = b.Connect("guest", "/", ConnectOptions{})
	must(t, err)
	s, err = c.OpenSession()
	must(t, err)
	for i := 0; i < 1000; i++ {
		ds, err := s.Get(context.Background(), "soak", GetOptions{Max: 1, NoAck: true})
		must(t, err)
		if len(ds) != 1 || !strings.HasPrefix(string(ds[0].Message.Body), strconv.Itoa(i)+"\x00") {
			t.Fatalf("message %d: got %q", i, ds[0].Message.Body[:16])
		}
	}
	must(t, b.Close())
	must(t, st.Close())
}

func procStatus(t *testing.T, field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	must(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, field+":")), "%d", &kb)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func rss(t *testing.T) int64 { return procStatus(t, "VmRSS") }
func hwm(t *testing.T) int64 { return procStatus(t, "VmHWM") }
