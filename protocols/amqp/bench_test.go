package amqp

import (
	"context"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
	"github.com/mqgate/mqgate/protocols/amqp/bench"
)

// The AMQP benchmarks run the scenarios of protocols/amqp/bench (1
// producer → 1 consumer, 100-byte messages, transient with no-ack and
// persistent with confirms and acks; 10 producers → 10 consumers) against
// a Server on the durable store, through loopback sockets with amqp091-go.
// b.N is the number of messages; msg/s, p50-µs and p99-µs are reported.
// bench/compare.sh runs the same load against RabbitMQ for comparison.

func benchmarkScenario(b *testing.B, i int) {
	st, err := store.OpenDurable(b.TempDir(), store.DurableOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ts := startTestServer(b, Config{}, st)
	sc := bench.Scenarios(max(b.N, 1000))[i]
	b.ReportAllocs()
	b.ResetTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := bench.Run(ctx, ts.url(), sc)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(r.Rate, "msg/s")
	b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
}

func BenchmarkAMQPTransientAutoAck(b *testing.B)         { benchmarkScenario(b, 0) }
func BenchmarkAMQPPersistentConfirmAck(b *testing.B)     { benchmarkScenario(b, 1) }
func BenchmarkAMQPTenProducersTenConsumers(b *testing.B) { benchmarkScenario(b, 2) }
