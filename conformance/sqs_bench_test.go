package conformance

import (
	"context"
	"fmt"
	"net/http/httptrace"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mqgate/mqgate/gateway"
)

// BenchmarkSQSThroughput runs 8 producers (SendMessageBatch of 10) and 8
// consumers (ReceiveMessage of 10 with long polling, then DeleteMessageBatch)
// through aws-sdk-go-v2 over HTTP to mqgate running as its own process, and
// reports messages per second end to end, the p50/p99 latency of each call,
// the messages a receive returns on average (empty ones aside), and the CPU
// time the broker and the clients spend per message. b.N is the number of
// messages.
//
// sent-msg/s is the producers' rate alone, up to the last send. Above msg/s,
// it says the consumers set the pace: with as many consumers as producers,
// a consumer makes two calls (receive, delete) per ten messages where a
// producer makes one, and a delete waits for the disk.
//
// The clients' process keeps the same heap floor as mqgate (see
// clientGCFloor); GOGC=100 in the environment runs both processes with Go's
// default collector instead.
func BenchmarkSQSThroughput(b *testing.B) {
	for _, kind := range []string{"standard", "fifo"} {
		for _, storage := range []string{gateway.StorageMemory, gateway.StorageDurable} {
			b.Run(kind+"/"+storage, func(b *testing.B) { sqsBenchThroughput(b, kind == "fifo", storage) })
		}
	}
}

func sqsBenchThroughput(b *testing.B, fifo bool, storage string) {
	br := sqsBenchServer(b, storage)
	clientGCFloor(b)
	c := sqsClientAt(b, br.addr, "test", "test")
	name, attrs := "bench", map[string]string(nil)
	if fifo {
		name, attrs = "bench.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup",
			"FifoThroughputLimit": "perMessageGroupId"}
	}
	url := sqsCreate(b, c, name, attrs)
	const producers, consumers, groups = 8, 8, 64
	var sendL, recvL, delL latencies
	var sent, done, nrecv atomic.Int64
	total := int64(b.N)
	body := aws.String(string(make([]byte, 0)) + "a benchmark message of about a hundred bytes, which is what a typical small event carries..")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	start, cpu0, self0 := time.Now(), cpuTime(b, br.pid), selfCPUTime()
	var producing, consuming sync.WaitGroup
	for p := 0; p < producers; p++ {
		producing.Add(1)
		go func() {
			defer producing.Done()
			for {
				n := sent.Add(10)
				if n-10 >= total {
					return
				}
				k := min(10, total-(n-10))
				entries := make([]types.SendMessageBatchRequestEntry, k)
				for i := range entries {
					seq := n - 10 + int64(i)
					entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: body}
					if fifo {
						entries[i].MessageGroupId = aws.String("g" + strconv.FormatInt(seq%groups, 10))
						entries[i].MessageDeduplicationId = aws.String(strconv.FormatInt(seq, 10))
					}
				}
				t0 := time.Now()
				out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
				sendL.add(time.Since(t0))
				if err != nil || len(out.Failed) > 0 {
					b.Errorf("SendMessageBatch: %v %v", err, out)
					return
				}
			}
		}()
	}
	for i := 0; i < consumers; i++ {
		consuming.Add(1)
		go func() {
			defer consuming.Done()
			for done.Load() < total {
				t0 := time.Now()
				out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
					MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					b.Errorf("ReceiveMessage: %v", err)
					return
				}
				recvL.add(time.Since(t0))
				if len(out.Messages) == 0 {
					continue
				}
				nrecv.Add(1)
				entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
				for j, m := range out.Messages {
					entries[j] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), ReceiptHandle: m.ReceiptHandle}
				}
				t0 = time.Now()
				dout, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
				delL.add(time.Since(t0))
				if err != nil || len(dout.Failed) > 0 {
					b.Errorf("DeleteMessageBatch: %v", err)
					return
				}
				if done.Add(int64(len(out.Messages))) >= total {
					cancel() // ends the other consumers' long polls; producers have sent everything
				}
			}
		}()
	}
	producing.Wait()
	sending := time.Since(start)
	consuming.Wait()
	elapsed := time.Since(start)
	cpu, self := cpuTime(b, br.pid)-cpu0, selfCPUTime()-self0
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(total)/sending.Seconds(), "sent-msg/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "broker-µs/msg")
	b.ReportMetric(float64(self.Microseconds())/float64(total), "clients-µs/msg")
	b.ReportMetric(float64(total)/float64(nrecv.Load()), "msg/receive")
	sendL.report(b, "send")
	recvL.report(b, "receive")
	delL.report(b, "delete")
}

// BenchmarkSQSLongPollWakeup measures how long an idle long-polling
// ReceiveMessage takes to return once another client sends a message: from
// the start of SendMessage to the return of ReceiveMessage.
func BenchmarkSQSLongPollWakeup(b *testing.B) {
	br := sqsBenchServer(b, gateway.StorageMemory)
	sender := sqsClientAt(b, br.addr, "test", "test")
	receiver := sqsClientAt(b, br.addr, "test", "test")
	url := sqsCreate(b, sender, "wakeup", nil)
	var lat latencies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wrote := make(chan struct{})
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }})
		got := make(chan time.Time, 1)
		go func() {
			out, err := receiver.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
			if err != nil || len(out.Messages) != 1 {
				b.Errorf("ReceiveMessage: %v", err)
			}
			got <- time.Now()
			if err == nil && len(out.Messages) == 1 {
				_, _ = receiver.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url),
					ReceiptHandle: out.Messages[0].ReceiptHandle})
			}
		}()
		<-wrote
		// Let the server park the request: the point is an idle long poll.
		time.Sleep(5 * time.Millisecond)
		t0 := time.Now()
		if _, err := sender.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url),
			MessageBody: aws.String(fmt.Sprint("m", i))}); err != nil {
			b.Fatal(err)
		}
		lat.add((<-got).Sub(t0))
	}
	b.StopTimer()
	lat.report(b, "wakeup")
}

// sqsBenchServer starts mqgate with only the http_api door, on storage
// (gateway.StorageDurable or gateway.StorageMemory).
func sqsBenchServer(b *testing.B, storage string) benchBroker {
	return startMqgate(b, `storage: `+storage+`
data_dir: "%[2]s"
log_level: warn
listeners:
  amqp: {enabled: false}
  mqtt: {enabled: false}
  stomp: {enabled: false}
  web_stomp: {enabled: false}
  web_mqtt: {enabled: false}
  management: {enabled: false}
  http_api: {enabled: true, addr: "127.0.0.1:%[1]d"}
`)
}

// clientGCFloor gives the benchmark's own process, until b ends, the heap
// floor mqgate keeps for itself (gateway.KeepGCFloor). The 16 SDK clients
// allocate about 35 KB per call while the process's live heap is 2 MiB, so
// with Go's default the clients' process collects about 80 times a second,
// and the clients spend 39–41 µs of CPU per message instead of 28–32: CPU
// the broker shares on two cores. An application that embeds the SDK has a live heap of
// its own and collects far less often per call. GOGC in the environment
// turns the floor off here as in mqgate.
func clientGCFloor(b *testing.B) {
	orig := debug.SetGCPercent(100)
	debug.SetGCPercent(orig)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		gateway.KeepGCFloor(ctx)
		close(done)
	}()
	b.Cleanup(func() {
		cancel()
		<-done
		debug.SetGCPercent(orig)
	})
}
