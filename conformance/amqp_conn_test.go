package conformance

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPHeartbeats: with a 1-second heartbeat the server sends heartbeats
// and keeps a client that sends its own; it closes the connection of a
// client that goes silent, after two intervals.
func TestAMQPHeartbeats(t *testing.T) {
	s := startAMQPServer(t, options{})
	var wg sync.WaitGroup
	wg.Add(1)
	silent := rawHandshake(t, s, rawOptions{heartbeat: 1})
	go func() {
		defer wg.Done()
		start := time.Now()
		_ = silent.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := silent.fr.ReadFrame(); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("a silent client was not disconnected")
				}
				break
			}
		}
		if d := time.Since(start); d < 1500*time.Millisecond || d > 5*time.Second {
			t.Errorf("silent client disconnected after %v, want about 2s", d)
		}
	}()

	alive := rawHandshake(t, s, rawOptions{heartbeat: 1})
	heartbeats := 0
	end := time.Now().Add(3 * time.Second)
	for time.Now().Before(end) {
		alive.write(wire.AppendHeartbeatFrame(nil))
		_ = alive.c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
		f, err := alive.fr.ReadFrame()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			continue
		}
		if err != nil {
			t.Fatalf("a client sending heartbeats was disconnected: %v", err)
		}
		if f.Type == wire.FrameHeartbeat {
			heartbeats++
		}
	}
	if heartbeats < 3 {
		t.Fatalf("%d heartbeats from the server in 3s at a 1s interval", heartbeats)
	}
	wg.Wait()
}

// TestAMQPRestart: durable exchanges, queues, bindings and persistent
// messages survive a restart with their properties; transient ones do not.
func TestAMQPRestart(t *testing.T) {
	s := startAMQPServer(t, options{durable: true})
	_, ch := amqpChannel(t, s)
	must(t, ch.Confirm(false))
	must(t, ch.ExchangeDeclare("dx", "direct", true, false, false, false, nil))
	_, err := ch.QueueDeclare("dq", true, false, false, false, amqp.Table{"x-max-length": int32(100)})
	must(t, err)
	_, err = ch.QueueDeclare("tq", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("dq", "k", "dx", false, nil))
	stamp := time.Unix(1700000000, 0)
	for _, p := range []amqp.Publishing{
		{DeliveryMode: amqp.Persistent, MessageId: "kept", Timestamp: stamp, Headers: amqp.Table{"h": "v"}, Body: []byte("persistent")},
		{DeliveryMode: amqp.Transient, Body: []byte("transient")},
	} {
		dc, err := ch.PublishWithDeferredConfirm("dx", "k", false, false, p)
		must(t, err)
		if !dc.Wait() {
			t.Fatal("nacked")
		}
	}
	s.restart()

	_, ch = amqpChannel(t, s)
	q, err := ch.QueueDeclarePassive("dq", true, false, false, false, nil)
	must(t, err)
	if q.Messages != 1 {
		t.Fatalf("%d messages after restart, want the persistent one", q.Messages)
	}
	d, ok, err := ch.Get("dq", false)
	must(t, err)
	if !ok || string(d.Body) != "persistent" || d.MessageId != "kept" || !d.Timestamp.Equal(stamp) ||
		d.Headers["h"] != "v" || d.DeliveryMode != amqp.Persistent || d.Exchange != "dx" || d.RoutingKey != "k" {
		t.Fatalf("after restart: %+v", d)
	}
	must(t, d.Ack(false))
	publish(t, ch, "dx", "k", "bound")
	waitFor(t, 5*time.Second, "the binding to route", func() bool {
		q, err := ch.QueueDeclarePassive("dq", true, false, false, false, nil)
		must(t, err)
		return q.Messages == 1
	})
	_, err = ch.QueueDeclarePassive("tq", false, false, false, false, nil)
	wantAMQPError(t, err, 404, "NOT_FOUND - no queue 'tq' in vhost '/'")
}

// TestAMQPLargeMessages: content split over many body frames, with small
// frame_max on either side, arrives whole.
func TestAMQPLargeMessages(t *testing.T) {
	s := startAMQPServer(t, options{})
	small := dialAMQPConfig(t, s, amqp.Config{FrameSize: 4096})
	sch, err := small.Channel()
	must(t, err)
	_, big := amqpChannel(t, s)
	q, err := big.QueueDeclare("", false, true, false, false, nil)
	must(t, err)
	ds, err := big.Consume(q.Name, "", true, false, false, false, nil)
	must(t, err)
	sds, err := sch.Consume(q.Name, "", true, false, false, false, nil)
	must(t, err)
	body := make([]byte, 1<<20)
	_, _ = rand.Read(body)
	must(t, sch.Publish("", q.Name, false, false, amqp.Publishing{Body: body}))
	must(t, big.Publish("", q.Name, false, false, amqp.Publishing{Body: body}))
	got := 0
	for got < 2 {
		var d amqp.Delivery
		select {
		case d = <-ds:
		case d = <-sds:
		case <-time.After(10 * time.Second):
			t.Fatal("timed out")
		}
		if !bytes.Equal(d.Body, body) {
			t.Fatalf("body of %d octets differs", len(d.Body))
		}
		got++
	}
	must(t, big.Publish("", q.Name, false, false, amqp.Publishing{}))
	if d := receive(t, mergeDeliveries(ds, sds)); len(d.Body) != 0 {
		t.Fatalf("empty body became %d octets", len(d.Body))
	}
}

func mergeDeliveries(a, b <-chan amqp.Delivery) <-chan amqp.Delivery {
	out := make(chan amqp.Delivery, 1)
	go func() {
		select {
		case d := <-a:
			out <- d
		case d := <-b:
			out <- d
		case <-time.After(10 * time.Second):
		}
	}()
	return out
}

// TestAMQPTLS serves AMQP over TLS on the amqps door.
func TestAMQPTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := startAMQPServer(t, options{edit: func(c *gateway.Config) {
		c.Listeners.AMQPS = gateway.ListenerConfig{Enabled: true, Addr: "127.0.0.1:0",
			TLS: &gateway.TLSConfig{CertFile: certFile, KeyFile: keyFile}}
	}})
	conn, err := amqp.DialTLS("amqps://guest:guest@"+s.addr("amqps")+"/", &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	must(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	must(t, err)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	publish(t, ch, "", q.Name, "secret")
	ds, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	must(t, err)
	if d := receive(t, ds); string(d.Body) != "secret" {
		t.Fatalf("got %q", d.Body)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mqgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kb, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile, pool
}

// TestAMQPNoGoroutineLeak runs a workload of connections, channels,
// consumers and errors, stops the gateway, and checks that every goroutine
// it started has ended.
func TestAMQPNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s := startAMQPServer(t, options{})
	for i := range 5 {
		conn, ch := amqpChannel(t, s)
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		must(t, err)
		ds, err := ch.Consume(q.Name, "", false, false, false, false, nil)
		must(t, err)
		publish(t, ch, "", q.Name, "m")
		receive(t, ds)
		if i%2 == 0 {
			_, err = ch.QueueDeclarePassive("missing", false, false, false, false, nil) // channel error
			wantAMQPError(t, err, 404, "")
		}
		if i == 3 {
			continue // left open: the shutdown closes it
		}
		must(t, conn.Close())
	}
	r := rawHandshake(t, s, rawOptions{})
	r.send(3, &wire.QueueDeclare{})
	r.expectConnectionClose(504, "")
	s.stop()
	waitFor(t, 10*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
