package conformance

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/gateway"
)

// Helpers of the AMQP conformance tests (amqp_*_test.go): they drive the
// gateway with RabbitMQ's Go client, amqp091-go, exactly as applications do.

// amqpURL is the URL of the server's AMQP door for guest on vhost /.
func amqpURL(s *server) string { return "amqp://guest:guest@" + s.addr("amqp") + "/" }

// dialAMQP connects as guest and closes the connection when the test ends.
func dialAMQP(t *testing.T, s *server) *amqp.Connection {
	t.Helper()
	return dialAMQPConfig(t, s, amqp.Config{})
}

func dialAMQPConfig(t *testing.T, s *server, cfg amqp.Config) *amqp.Connection {
	t.Helper()
	if cfg.Dial == nil {
		cfg.Dial = amqp.DefaultDial(5 * time.Second)
	}
	conn, err := amqp.DialConfig(amqpURL(s), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// amqpChannel opens a channel on a new connection.
func amqpChannel(t *testing.T, s *server) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	conn := dialAMQP(t, s)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return conn, ch
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// amqpCode returns the reply code of an *amqp.Error, or 0.
func amqpCode(err error) int {
	var e *amqp.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// wantAMQPError fails unless err is an *amqp.Error with code and, when text
// is not empty, exactly that reply text.
func wantAMQPError(t *testing.T, err error, code int, text string) {
	t.Helper()
	var e *amqp.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want AMQP error %d", err, code)
	}
	if e.Code != code || (text != "" && e.Reason != text) {
		t.Fatalf("got AMQP error %d %q, want %d %q", e.Code, e.Reason, code, text)
	}
}

// receive waits for the next delivery or fails.
func receive(t *testing.T, ds <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-ds:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a delivery")
	}
	return amqp.Delivery{}
}

// noDelivery fails if a delivery arrives within d.
func noDelivery(t *testing.T, ds <-chan amqp.Delivery, d time.Duration) {
	t.Helper()
	select {
	case m, ok := <-ds:
		if ok {
			t.Fatalf("unexpected delivery %q", m.Body)
		}
	case <-time.After(d):
	}
}

// publish publishes body to exchange x with routing key rk.
func publish(t *testing.T, ch *amqp.Channel, x, rk string, body string) {
	t.Helper()
	must(t, ch.Publish(x, rk, false, false, amqp.Publishing{Body: []byte(body)}))
}

// rawAMQP opens a TCP connection to the AMQP door for tests that speak the
// protocol byte by byte.
func rawAMQP(t *testing.T, s *server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr("amqp"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func qname(t *testing.T, suffix string) string {
	return fmt.Sprintf("%s-%s", t.Name(), suffix)
}

// startAMQPServer is startServer with only the AMQP doors: these tests are
// about AMQP, and need not fail for another front-end's sake.
func startAMQPServer(t *testing.T, o options) *server {
	t.Helper()
	edit := o.edit
	o.edit = func(c *gateway.Config) {
		for _, l := range []*gateway.ListenerConfig{&c.Listeners.MQTT, &c.Listeners.MQTTS, &c.Listeners.STOMP,
			&c.Listeners.STOMPS, &c.Listeners.WebSTOMP, &c.Listeners.WebMQTT, &c.Listeners.HTTPAPI,
			&c.Listeners.Management} {
			l.Enabled = false
		}
		if edit != nil {
			edit(c)
		}
	}
	return startServer(t, o)
}
