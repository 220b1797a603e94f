package conformance

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A minimal MQTT 3.1.1 load generator for the throughput benchmarks, in the
// manner of emqtt-bench: publishers keep a window of QoS 1 PUBLISHes in
// flight and write them in batches; subscribers acknowledge all they read
// in one write. It costs the benchmark process a few microseconds per
// message where paho.mqtt.golang costs about twenty (one write system call
// per packet, a goroutine hand-off per message), so that the figures are
// the broker's rather than the client's. It speaks only what the benchmark
// needs and checks what it reads.

// rawWindow is the QoS 1 PUBLISHes a raw publisher keeps in flight.
const rawWindow = 1000

// rawConn is one MQTT 3.1.1 client connection.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// rawDial connects as a clean session and reads the CONNACK.
func rawDial(b *testing.B, addr, clientID string) *rawConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	rc := &rawConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	var body []byte
	body = appendString(body, "MQTT")
	body = append(body, 4, 0x02, 0, 60) // level 4, clean session, keep-alive 60 s
	body = appendString(body, clientID)
	rc.write(b, appendPacket(nil, 0x10, body))
	if typ, _ := rc.read(b); typ != 0x20 {
		b.Fatalf("expected CONNACK, got packet type %#x", typ)
	}
	return rc
}

// subscribe subscribes to filter and reads the SUBACK.
func (rc *rawConn) subscribe(b *testing.B, filter string, qos byte) {
	body := binary.BigEndian.AppendUint16(nil, 1)
	body = appendString(body, filter)
	body = append(body, qos)
	rc.write(b, appendPacket(nil, 0x82, body))
	if typ, body := rc.read(b); typ != 0x90 || len(body) != 3 || body[2] != qos {
		b.Fatalf("SUBACK: type %#x body %x", typ, body)
	}
}

func (rc *rawConn) write(b *testing.B, p []byte) {
	if _, err := rc.c.Write(p); err != nil {
		b.Fatal(err)
	}
}

// read reads one packet: its type (the fixed header's first byte) and body.
func (rc *rawConn) read(b *testing.B) (byte, []byte) {
	typ, body, err := rc.next(nil)
	if err != nil {
		b.Fatal(err)
	}
	return typ, body
}

// next reads one packet into buf's array.
func (rc *rawConn) next(buf []byte) (byte, []byte, error) {
	typ, err := rc.br.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for i := 0; ; i++ {
		c, err := rc.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
		if shift += 7; i == 3 {
			return 0, nil, errors.New("malformed remaining length")
		}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(rc.br, buf)
	return typ, buf, err
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendPacket appends a packet: fixed header byte, remaining length, body.
func appendPacket(b []byte, header byte, body []byte) []byte {
	b = appendLength(append(b, header), len(body))
	return append(b, body...)
}

// appendLength appends MQTT's variable-length remaining length.
func appendLength(b []byte, n int) []byte {
	for ; n >= 0x80; n >>= 7 {
		b = append(b, byte(n&0x7f)|0x80)
	}
	return append(b, byte(n))
}

// appendPublish appends a PUBLISH of payload to topic; pid is used at QoS 1.
func appendPublish(b []byte, topic string, qos byte, pid uint16, payload []byte) []byte {
	n := 2 + len(topic) + len(payload)
	if qos > 0 {
		n += 2
	}
	b = appendLength(append(b, 0x30|qos<<1), n)
	b = appendString(b, topic)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, pid)
	}
	return append(b, payload...)
}

// rawSubscribe starts a subscriber that counts the PUBLISHes it reads into
// got, records their latency in lat unless it is nil (stamp), and
// acknowledges those of QoS 1, once per read. It ends when the connection
// does.
func rawSubscribe(b *testing.B, addr, filter string, qos byte, got *atomic.Int64, lat *latencies) {
	rc := rawDial(b, addr, clientID("rawsub"))
	rc.subscribe(b, filter, qos)
	go func() {
		var buf, acks []byte
		for {
			typ, body, err := rc.next(buf)
			if err != nil {
				return
			}
			buf = body
			if typ&0xf0 != 0x30 {
				continue
			}
			got.Add(1)
			payload := 2 + int(binary.BigEndian.Uint16(body))
			if typ&0x06 != 0 {
				acks = append(acks, 0x40, 2, body[payload], body[payload+1])
				payload += 2
			}
			if lat != nil && payload <= len(body) {
				lat.add(sinceStamp(body[payload:]))
			}
			if len(acks) > 0 && rc.br.Buffered() == 0 {
				if _, err := rc.c.Write(acks); err != nil {
					return
				}
				acks = acks[:0]
			}
		}
	}()
}

// rawPublish publishes n messages of payload to topic at qos, each stamped
// with the time it is queued for writing (stamp), writing them in batches, with at most rawWindow unacknowledged at QoS 1, and returns
// when every QoS 1 message is acknowledged (at QoS 0, when all are written).
func rawPublish(rc *rawConn, topic string, qos byte, n int, payload []byte) error {
	window := make(chan struct{}, rawWindow)
	acked := make(chan error, 1)
	if qos > 0 {
		go func() {
			var buf []byte
			for i := 0; i < n; i++ {
				typ, body, err := rc.next(buf)
				if err == nil && (typ != 0x40 || len(body) != 2) {
					err = fmt.Errorf("expected PUBACK, got type %#x body %x", typ, body)
				}
				if err != nil {
					acked <- err
					return
				}
				buf = body
				<-window
			}
			acked <- nil
		}()
	}
	var out []byte
	for i := 0; i < n; {
		// A batch: at most 64 packets, as many as the window allows now
		// and at least one (waiting for the window).
		out = out[:0]
		for k := 0; k < 64 && i < n; k++ {
			if qos > 0 && !take(window, k == 0) {
				break
			}
			stamp(payload)
			out = appendPublish(out, topic, qos, uint16(i%65535+1), payload)
			i++
		}
		if _, err := rc.c.Write(out); err != nil {
			return err
		}
	}
	if qos == 0 {
		return nil
	}
	select {
	case err := <-acked:
		return err
	case <-time.After(time.Minute):
		return errors.New("PUBACKs did not come")
	}
}

// take takes a place in window, waiting for one if wait is set.
func take(window chan struct{}, wait bool) bool {
	if wait {
		window <- struct{}{}
		return true
	}
	select {
	case window <- struct{}{}:
		return true
	default:
		return false
	}
}

// BenchmarkMQTTThroughputRaw is BenchmarkMQTTThroughput with the raw load
// generator above in place of paho.mqtt.golang:
//
//	go test ./conformance -run '^$' -bench 'BenchmarkMQTTThroughputRaw' -benchtime 200000x
func BenchmarkMQTTThroughputRaw(b *testing.B) {
	throughputScenarios(b, func(b *testing.B, br benchBroker, qos byte, fanout int) {
		var got atomic.Int64
		var lat latencies
		for i := range fanout {
			l := &lat
			if i > 0 {
				l = nil // the first subscriber's deliveries
			}
			rawSubscribe(b, br.addr, "bench/t", qos, &got, l)
		}
		want := int64(b.N * fanout)
		b.ResetTimer()
		start, cpu0, self0 := time.Now(), cpuTime(b, br.pid), selfCPUTime()
		pub := rawDial(b, br.addr, clientID("rawpub"))
		var pubErr error
		var wg sync.WaitGroup
		payload := bytes.Repeat([]byte("x"), 100)
		wg.Go(func() { pubErr = rawPublish(pub, "bench/t", qos, b.N, payload) })
		// All delivered, or (QoS 0 may drop) no progress for a second.
		last, lastAt := got.Load(), time.Now()
		for last < want {
			time.Sleep(5 * time.Millisecond)
			if n := got.Load(); n != last {
				last, lastAt = n, time.Now()
			} else if time.Since(lastAt) > time.Second {
				break
			}
		}
		el := lastAt.Sub(start)
		wg.Wait()
		b.StopTimer()
		if pubErr != nil {
			b.Fatal(pubErr)
		}
		cpu, self := cpuTime(b, br.pid)-cpu0, selfCPUTime()-self0
		b.ReportMetric(float64(last)/el.Seconds(), "deliveries/s")
		b.ReportMetric(float64(b.N)/el.Seconds(), "publishes/s")
		b.ReportMetric(100*float64(want-last)/float64(want), "%lost")
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "broker-cpu-µs/publish")
		b.ReportMetric(float64(self.Microseconds())/float64(b.N), "clients-cpu-µs/publish")
		lat.report(b, "latency")
	})
}
