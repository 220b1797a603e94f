package core

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// Benchmarks of the engine through its API (no sockets). Each reports msg/s;
// run them with: go test -run '^$' -bench . -benchtime 2s ./core/

var body100 = make([]byte, 100)

// countSink counts deliveries and acks nothing (NoAck consumers).
type countSink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countSink) TryDeliver(*Delivery) bool {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
	return true
}
func (c *countSink) Cancelled(error) {}

func benchBroker(b *testing.B, st store.Store) *Broker {
	br, err := New(Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	_ = br.AddVHost("/")
	_ = br.PutUser("guest", "guest", nil)
	_ = br.SetPermissions("guest", "/", ".*", ".*", ".*")
	b.Cleanup(func() { _ = br.Close(); _ = st.Close() })
	return br
}

func benchSession(b *testing.B, br *Broker) *Session {
	c, err := br.Connect("guest", "/", ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s, _ := c.OpenSession()
	return s
}

// BenchmarkTransient1to1 publishes transient 100-byte messages to a queue
// with one NoAck consumer.
func BenchmarkTransient1to1(b *testing.B) {
	br := benchBroker(b, store.NewMemory())
	s := benchSession(b, br)
	if _, err := s.DeclareQueue("q", QueueOptions{}); err != nil {
		b.Fatal(err)
	}
	sink := &countSink{want: int64(b.N), done: make(chan struct{})}
	if _, err := benchSession(b, br).Consume("q", ConsumeOptions{NoAck: true}, sink); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Publish(&Message{RoutingKey: "q", Body: body100}, PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	<-sink.done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkTransient1to1Acked is the same with a prefetch-1000 consumer that
// acks every 100 deliveries (multiple).
func BenchmarkTransient1to1Acked(b *testing.B) {
	br := benchBroker(b, store.NewMemory())
	s := benchSession(b, br)
	if _, err := s.DeclareQueue("q", QueueOptions{}); err != nil {
		b.Fatal(err)
	}
	cs := benchSession(b, br)
	acker := &ackSink{s: cs, want: int64(b.N), done: make(chan struct{}), tags: make(chan uint64, 1<<16)}
	go acker.run()
	if _, err := cs.Consume("q", ConsumeOptions{PrefetchCount: 1000}, acker); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Publish(&Message{RoutingKey: "q", Body: body100}, PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	<-acker.done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// ackSink hands tags to a goroutine that acks them in batches, as a client's
// reader would.
type ackSink struct {
	s    *Session
	n    atomic.Int64
	want int64
	done chan struct{}
	tags chan uint64
}

func (a *ackSink) TryDeliver(d *Delivery) bool {
	select {
	case a.tags <- d.Tag:
		return true
	default:
		return false
	}
}
func (a *ackSink) Cancelled(error) {}

func (a *ackSink) run() {
	var got int64
	for t := range a.tags {
		got++
		if got%100 == 0 || got == a.want {
			_ = a.s.Ack(t, true)
		}
		if got == a.want {
			close(a.done)
			return
		}
	}
}

// BenchmarkFanoutTopic publishes through amq.topic to 10 queues, each with a
// NoAck consumer; msg/s counts deliveries.
func BenchmarkFanoutTopic(b *testing.B) {
	const fan = 10
	br := benchBroker(b, store.NewMemory())
	s := benchSession(b, br)
	var sinks []*countSink
	for i := 0; i < fan; i++ {
		name := "q" + string(rune('a'+i))
		if _, err := s.DeclareQueue(name, QueueOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := s.Bind(name, "amq.topic", "sensors.*.temp", nil, false); err != nil {
			b.Fatal(err)
		}
		k := &countSink{want: int64(b.N), done: make(chan struct{})}
		if _, err := benchSession(b, br).Consume(name, ConsumeOptions{NoAck: true}, k); err != nil {
			b.Fatal(err)
		}
		sinks = append(sinks, k)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Publish(&Message{Exchange: "amq.topic", RoutingKey: "sensors.kitchen.temp", Body: body100}, PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, k := range sinks {
		<-k.done
	}
	b.ReportMetric(float64(b.N*fan)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkDurableConfirm publishes persistent messages to a durable queue on
// the durable store with N confirms outstanding, and reports msg/s and the
// confirm latency percentiles. BenchmarkFsync, in the same run, gives the
// disk's fsync latency: the group-commit limit is in-flight ÷ fsync latency.
func BenchmarkDurableConfirm(b *testing.B) {
	for _, inflight := range []int{1, 64, 1024} {
		b.Run("inflight="+itoa(inflight), func(b *testing.B) {
			st, err := store.OpenDurable(b.TempDir(), store.DurableOptions{})
			if err != nil {
				b.Fatal(err)
			}
			br := benchBroker(b, st)
			s := benchSession(b, br)
			if _, err := s.DeclareQueue("q", QueueOptions{Durable: true}); err != nil {
				b.Fatal(err)
			}
			sem := make(chan struct{}, inflight)
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			wg.Add(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sem <- struct{}{}
				start := time.Now()
				i := i
				_, err := s.Publish(&Message{RoutingKey: "q", Body: body100, Properties: Properties{DeliveryMode: Persistent}},
					PublishOptions{Confirm: func(err error) {
						if err != nil {
							panic(err)
						}
						lat[i] = time.Since(start)
						<-sem
						wg.Done()
					}})
				if err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkFsync measures this disk's fsync latency: 4 KiB written in place
// then fsync, and 4 KiB appended then fsync (a growing log, as a WAL is).
func BenchmarkFsync(b *testing.B) {
	for _, mode := range []string{"overwrite", "append"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := int64(i%256) * 4096
				if mode == "append" {
					off = int64(i) * 4096
				}
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(per*1e6, "µs/fsync")
			b.ReportMetric(1/per, "fsync/s")
		})
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

// BenchmarkDurableConfirmConsumed is BenchmarkDurableConfirm with 64 in
// flight while a consumer takes and acks every message, as a queue that keeps
// up does: every message is written and deleted.
func BenchmarkDurableConfirmConsumed(b *testing.B) {
	st, err := store.OpenDurable(b.TempDir(), store.DurableOptions{})
	if err != nil {
		b.Fatal(err)
	}
	br := benchBroker(b, st)
	s := benchSession(b, br)
	if _, err := s.DeclareQueue("q", QueueOptions{Durable: true}); err != nil {
		b.Fatal(err)
	}
	cs := benchSession(b, br)
	acker := &ackSink{s: cs, want: int64(b.N), done: make(chan struct{}), tags: make(chan uint64, 1<<16)}
	go acker.run()
	if _, err := cs.Consume("q", ConsumeOptions{PrefetchCount: 1000}, acker); err != nil {
		b.Fatal(err)
	}
	sem := make(chan struct{}, 64)
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		start := time.Now()
		i := i
		_, err := s.Publish(&Message{RoutingKey: "q", Body: body100, Properties: Properties{DeliveryMode: Persistent}},
			PublishOptions{Confirm: func(err error) {
				if err != nil {
					panic(err)
				}
				lat[i] = time.Since(start)
				<-sem
			}})
		if err != nil {
			b.Fatal(err)
		}
	}
	<-acker.done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	reportPercentiles(b, lat)
}
