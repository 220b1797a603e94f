// Package bench is the AMQP 0-9-1 load generator behind mqgate's AMQP
// benchmarks (protocols/amqp's BenchmarkAMQP…) and cmd/amqpbench, which
// compare.sh runs against mqgate and RabbitMQ alike. It drives a broker
// through real sockets with RabbitMQ's Go client, amqp091-go, and measures
// throughput and end-to-end latency (publish to delivery, from a timestamp
// in each body).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Scenario is one load.
type Scenario struct {
	Name       string
	Producers  int  // connections publishing
	Consumers  int  // connections consuming
	Queues     int  // queues; producer and consumer i use queue i mod Queues
	Messages   int  // in total
	Size       int  // body octets, at least 8
	Persistent bool // persistent messages in durable queues
	Confirm    int  // publisher confirms with at most this many unconfirmed per producer; 0 is none
	ManualAck  bool // consumers ack each delivery; else no-ack
	Prefetch   int  // basic.qos of consumers with ManualAck
	Rate       int  // messages per second offered, in total; 0 is as fast as possible
}

// Scenarios are the loads of mqgate's AMQP benchmarks, each with n messages
// published as fast as the broker takes them: throughput, and latency at
// saturation.
func Scenarios(n int) []Scenario {
	return []Scenario{
		{Name: "transient-autoack-1to1", Producers: 1, Consumers: 1, Queues: 1, Messages: n, Size: 100},
		{Name: "persistent-confirm-ack-1to1", Producers: 1, Consumers: 1, Queues: 1, Messages: n, Size: 100,
			Persistent: true, Confirm: 1000, ManualAck: true, Prefetch: 1000},
		{Name: "transient-autoack-10to10", Producers: 10, Consumers: 10, Queues: 1, Messages: n, Size: 100},
	}
}

// AtRate returns the scenarios with rate messages per second offered, for
// latency at the same load on any broker; their names end in "@rate".
func AtRate(scs []Scenario, rate int) []Scenario {
	out := make([]Scenario, len(scs))
	for i, sc := range scs {
		sc.Rate = rate
		sc.Name = fmt.Sprintf("%s@%d", sc.Name, rate)
		out[i] = sc
	}
	return out
}

// Result is what a run measured.
type Result struct {
	Messages int
	Elapsed  time.Duration // from the first publish to the last delivery
	Rate     float64       // messages per second
	P50, P99 time.Duration // publish-to-delivery latency
	Max      time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d msgs in %v: %.0f msg/s, p50 %v, p99 %v, max %v", r.Messages, r.Elapsed.Round(time.Millisecond),
		r.Rate, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

// Run runs sc against the broker at url.
func Run(ctx context.Context, url string, sc Scenario) (Result, error) {
	if sc.Size < 8 || sc.Producers < 1 || sc.Consumers < 1 || sc.Queues < 1 || sc.Messages < sc.Producers {
		return Result{}, errors.New("bench: invalid scenario")
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	queues := make([]string, sc.Queues)
	for i := range queues {
		queues[i] = fmt.Sprintf("bench-%s-%s-%d", sc.Name, hex.EncodeToString(suffix[:]), i)
	}
	admin, err := amqp.Dial(url)
	if err != nil {
		return Result{}, err
	}
	defer admin.Close()
	ach, err := admin.Channel()
	if err != nil {
		return Result{}, err
	}
	for _, q := range queues {
		if _, err := ach.QueueDeclare(q, sc.Persistent, false, false, false, nil); err != nil {
			return Result{}, err
		}
	}
	defer func() {
		for _, q := range queues {
			_, _ = ach.QueueDelete(q, false, false, false)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		consumed  atomic.Int64
		done      = make(chan struct{})
		doneOnce  sync.Once
		lat       = make([][]time.Duration, sc.Consumers)
		errs      = make(chan error, sc.Producers+sc.Consumers)
		wg        sync.WaitGroup
		ready     sync.WaitGroup
		total     = int64(sc.Messages)
		perProd   = sc.Messages / sc.Producers
		remainder = sc.Messages % sc.Producers
	)
	for i := range sc.Consumers {
		conn, err := amqp.Dial(url)
		if err != nil {
			return Result{}, err
		}
		defer conn.Close()
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i] = make([]time.Duration, 0, sc.Messages/sc.Consumers+1)
			if err := consume(ctx, conn, sc, queues[i%len(queues)], &lat[i], &consumed, total, &ready, func() {
				doneOnce.Do(func() { close(done) })
			}); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	ready.Wait()
	start := time.Now()
	for i := range sc.Producers {
		conn, err := amqp.Dial(url)
		if err != nil {
			return Result{}, err
		}
		defer conn.Close()
		n := perProd
		if i < remainder {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := produce(ctx, conn, sc, queues[i%len(queues)], n); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	select {
	case <-done:
	case err := <-errs:
		return Result{}, err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := Result{Messages: len(all), Elapsed: elapsed, Rate: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		r.P50, r.P99, r.Max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	return r, nil
}

func produce(ctx context.Context, conn *amqp.Connection, sc Scenario, queue string, n int) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	var window chan struct{}
	var confirmErr atomic.Value
	if sc.Confirm > 0 {
		if err := ch.Confirm(false); err != nil {
			return err
		}
		window = make(chan struct{}, sc.Confirm)
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, sc.Confirm))
		go func() {
			for c := range confirms {
				if !c.Ack {
					confirmErr.Store(fmt.Errorf("publish %d nacked", c.DeliveryTag))
				}
				<-window
			}
		}()
	}
	mode := amqp.Transient
	if sc.Persistent {
		mode = amqp.Persistent
	}
	body := make([]byte, sc.Size)
	pace := newPacer(sc.Rate / sc.Producers)
	for i := 0; i < n; i++ {
		if !pace.wait(ctx, i) {
			return nil
		}
		if window != nil {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		binary.LittleEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		if err := ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{DeliveryMode: mode, Body: body}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err, _ := confirmErr.Load().(error); err != nil {
			return err
		}
	}
	if window != nil { // wait for the last confirms
		for range sc.Confirm {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

func consume(ctx context.Context, conn *amqp.Connection, sc Scenario, queue string, lat *[]time.Duration,
	consumed *atomic.Int64, total int64, ready *sync.WaitGroup, finished func()) error {
	ch, err := conn.Channel()
	if err != nil {
		ready.Done()
		return err
	}
	if sc.ManualAck && sc.Prefetch > 0 {
		if err := ch.Qos(sc.Prefetch, 0, false); err != nil {
			ready.Done()
			return err
		}
	}
	ds, err := ch.Consume(queue, "", !sc.ManualAck, false, false, false, nil)
	ready.Done()
	if err != nil {
		return err
	}
	for {
		select {
		case d, ok := <-ds:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("bench: consumer cancelled")
			}
			now := time.Now().UnixNano()
			if len(d.Body) >= 8 {
				*lat = append(*lat, time.Duration(now-int64(binary.LittleEndian.Uint64(d.Body))))
			}
			if sc.ManualAck {
				if err := d.Ack(false); err != nil {
					return err
				}
			}
			if consumed.Add(1) == total {
				finished()
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// pacer spreads publishes at a rate, in bursts of a millisecond's worth:
// finer sleeps are not reliable.
type pacer struct {
	rate  int // per second; 0 is unlimited
	start time.Time
}

func newPacer(rate int) *pacer { return &pacer{rate: rate, start: time.Now()} }

// wait returns when message i is due, or false if ctx ended first.
func (p *pacer) wait(ctx context.Context, i int) bool {
	if p.rate <= 0 {
		return true
	}
	due := p.start.Add(time.Duration(float64(i) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		t := time.NewTimer(max(d, time.Millisecond))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
