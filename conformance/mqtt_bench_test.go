package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// MQTT benchmarks, mqgate side by side with Mosquitto (Debian's mosquitto,
// started on loopback here when installed): each broker runs as its own
// process, the same paho.mqtt.golang clients drive both.
//
//	go test ./conformance -run '^$' -bench 'BenchmarkMQTT' -benchtime 20000x
//
// Throughput reports delivered msg/s (100-byte payloads, QoS 0 and 1,
// 1 → 1 and 1 → 100 subscribers), the broker's CPU time per publish, and the
// latency from the publish call to the first subscriber's delivery under
// that load (the publisher queues as fast as it can); latency reports it
// one message at a time; idle clients reports the broker's RSS with 10,000
// connected clients holding one subscription each.

// startBroker starts "mqgate" or "mosquitto" on a free loopback port.
func startBroker(b *testing.B, name string) benchBroker {
	b.Helper()
	if name == "mqgate" {
		return startMqgate(b, `storage: memory
log_level: warn
listeners:
  amqp: {enabled: false}
  stomp: {enabled: false}
  web_stomp: {enabled: false}
  web_mqtt: {enabled: false}
  http_api: {enabled: false}
  management: {enabled: false}
  mqtt: {enabled: true, addr: "127.0.0.1:%[1]d"}
mqtt:
  qos0_buffer: 100000000
`)
	}
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		b.Skip("mosquitto not installed (Debian's mosquitto package)")
	}
	// No queue limit on either side: mqgate never drops a QoS 1 message, and
	// its QoS 0 buffer is set as large above.
	port, dir := freePort(b), b.TempDir()
	cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nlog_type error\nmax_queued_messages 0\nmax_inflight_messages 0\n", port)
	mustB(b, os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(cfg), 0o600))
	return startProcess(b, name, exec.Command(path, "-c", filepath.Join(dir, "mosquitto.conf")), port)
}

func benchClient(b *testing.B, addr string, handler pahov3.MessageHandler) pahov3.Client {
	o := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID("bench")).
		SetAutoReconnect(false).SetOrderMatters(false).SetKeepAlive(60 * time.Second).SetProtocolVersion(4).
		SetMessageChannelDepth(10000)
	c := pahov3.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		b.Fatalf("connect: %v", tok.Error())
	}
	b.Cleanup(func() { c.Disconnect(0) })
	return c
}

// throughputScenarios runs fn as a sub-benchmark for each broker, QoS and
// fan-out the throughput benchmarks compare, with the broker started.
func throughputScenarios(b *testing.B, fn func(b *testing.B, br benchBroker, qos byte, fanout int)) {
	for _, broker := range []string{"mqgate", "mosquitto"} {
		for _, qos := range []byte{0, 1} {
			for _, fanout := range []int{1, 100} {
				b.Run(fmt.Sprintf("%s/qos%d/1to%d", broker, qos, fanout), func(b *testing.B) {
					fn(b, startBroker(b, broker), qos, fanout)
				})
			}
		}
	}
}

func BenchmarkMQTTThroughput(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 100)
	throughputScenarios(b, func(b *testing.B, br benchBroker, qos byte, fanout int) {
		var got atomic.Int64
		var lat latencies
		want := int64(b.N * fanout)
		done := make(chan struct{})
		var once sync.Once
		for i := range fanout {
			c := benchClient(b, br.addr, nil)
			tok := c.Subscribe("bench/t", qos, func(_ pahov3.Client, m pahov3.Message) {
				if i == 0 {
					lat.add(sinceStamp(m.Payload()))
				}
				if got.Add(1) == want {
					once.Do(func() { close(done) })
				}
			})
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				b.Fatal(tok.Error())
			}
		}
		pub := benchClient(b, br.addr, nil)
		b.ResetTimer()
		start, cpu0, self0 := time.Now(), cpuTime(b, br.pid), selfCPUTime()
		toks := make([]pahov3.Token, 0, b.N)
		for range b.N {
			p := bytes.Clone(payload) // paho writes it later
			stamp(p)
			toks = append(toks, pub.Publish("bench/t", qos, false, p))
		}
		for _, t := range toks {
			t.WaitTimeout(time.Minute)
		}
		// All delivered, or (QoS 0 may drop) no progress for a second.
		last, lastAt := got.Load(), time.Now()
	wait:
		for {
			select {
			case <-done:
				break wait
			case <-time.After(10 * time.Millisecond):
			}
			if n := got.Load(); n != last {
				last, lastAt = n, time.Now()
			} else if time.Since(lastAt) > time.Second {
				break wait
			}
		}
		el := lastAt.Sub(start)
		if got.Load() == want {
			el = time.Since(start)
		}
		b.StopTimer()
		cpu, self := cpuTime(b, br.pid)-cpu0, selfCPUTime()-self0
		n := got.Load()
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "broker-cpu-µs/publish")
		b.ReportMetric(float64(self.Microseconds())/float64(b.N), "clients-cpu-µs/publish")
		b.ReportMetric(float64(n)/el.Seconds(), "deliveries/s")
		b.ReportMetric(float64(b.N)/el.Seconds(), "publishes/s")
		b.ReportMetric(100*float64(want-n)/float64(want), "%lost")
		lat.report(b, "latency")
	})
}

// BenchmarkMQTTLatency publishes one message at a time, 100 bytes, from
// one paho client to another subscribed one, and reports the time from the
// publish call to the delivery.
func BenchmarkMQTTLatency(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 100)
	for _, broker := range []string{"mqgate", "mosquitto"} {
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("%s/qos%d", broker, qos), func(b *testing.B) {
				br := startBroker(b, broker)
				arrived := make(chan time.Duration, 1)
				sub := benchClient(b, br.addr, nil)
				tok := sub.Subscribe("bench/lat", qos, func(_ pahov3.Client, m pahov3.Message) {
					arrived <- sinceStamp(m.Payload())
				})
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					b.Fatal(tok.Error())
				}
				pub := benchClient(b, br.addr, nil)
				var lat latencies
				b.ResetTimer()
				for range b.N {
					p := bytes.Clone(payload)
					stamp(p)
					pub.Publish("bench/lat", qos, false, p)
					select {
					case d := <-arrived:
						lat.add(d)
					case <-time.After(10 * time.Second):
						b.Fatal("a message did not arrive")
					}
				}
				b.StopTimer()
				lat.report(b, "latency")
			})
		}
	}
}

// BenchmarkMQTTIdleClients connects 10,000 clients with one subscription
// each (raw MQTT 3.1.1 connections, keep-alive off) and reports the broker's
// resident memory.
func BenchmarkMQTTIdleClients(b *testing.B) {
	const n = 10000
	for _, broker := range []string{"mqgate", "mosquitto"} {
		b.Run(broker, func(b *testing.B) {
			br := startBroker(b, broker)
			before := rss(b, br.pid)
			conns := make([]net.Conn, 0, n)
			b.Cleanup(func() {
				for _, c := range conns {
					_ = c.Close()
				}
			})
			for i := range n {
				c, err := net.Dial("tcp", br.addr)
				if err != nil {
					b.Fatalf("client %d: %v", i, err)
				}
				conns = append(conns, c)
				var buf bytes.Buffer
				pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
					Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: fmt.Sprintf("idle-%d", i)}}
				mustB(b, pk.ConnectEncode(&buf))
				sub := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
					ProtocolVersion: 4, Filters: packets.Subscriptions{{Filter: fmt.Sprintf("idle/%d/+", i), Qos: 1}}}
				mustB(b, sub.SubscribeEncode(&buf))
				if _, err := c.Write(buf.Bytes()); err != nil {
					b.Fatal(err)
				}
			}
			// CONNACK (4 bytes) and SUBACK (5 bytes) from each.
			for i, c := range conns {
				_ = c.SetReadDeadline(time.Now().Add(time.Minute))
				if _, err := io.ReadFull(c, make([]byte, 9)); err != nil {
					b.Fatalf("client %d: %v", i, err)
				}
				_ = c.SetReadDeadline(time.Time{})
			}
			after := rss(b, br.pid)
			for range b.N {
			}
			b.ReportMetric(float64(after)/(1<<20), "MB-RSS")
			b.ReportMetric(float64(after-before)/n, "B-RSS/client")
		})
	}
}
