// Command amqpbench runs mqgate's AMQP 0-9-1 benchmark scenarios (package
// protocols/amqp/bench) against any AMQP 0-9-1 broker, so mqgate and
// RabbitMQ can be measured with the same load (protocols/amqp/bench/compare.sh).
//
//	amqpbench -url amqp://guest:guest@127.0.0.1:5672/ -n 200000 [-scenario NAME]
//
// It runs each scenario as fast as the broker takes the messages
// (throughput), then, with -rate, at that many messages per second (latency
// at the same load on any broker). It prints one line per run: scenario
// (with "@rate" for the second kind), messages, msg/s, p50 and p99 latency
// in microseconds, separated by tabs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mqgate/mqgate/protocols/amqp/bench"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "broker URL")
	n := flag.Int("n", 200000, "messages per scenario")
	rate := flag.Int("rate", 20000, "messages per second of the fixed-rate runs; 0 skips them")
	only := flag.String("scenario", "", "run only this scenario")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up on a scenario after this long")
	flag.Parse()
	ran := false
	scs := bench.Scenarios(*n)
	if *rate > 0 {
		scs = append(scs, bench.AtRate(bench.Scenarios(max(*n/2, *rate)), *rate)...)
	}
	for _, sc := range scs {
		if *only != "" && sc.Name != *only {
			continue
		}
		ran = true
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		r, err := bench.Run(ctx, *url, sc)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "amqpbench: %s: %v\n", sc.Name, err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%d\t%.0f\t%d\t%d\n", sc.Name, r.Messages, r.Rate, r.P50.Microseconds(), r.P99.Microseconds())
	}
	if !ran {
		fmt.Fprintf(os.Stderr, "amqpbench: no scenario %q\n", *only)
		os.Exit(2)
	}
}
