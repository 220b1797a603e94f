package conformance

import (
	"context"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mqgate/mqgate/gateway"
)

// server is a running gateway for one test.
type server struct {
	t   *testing.T
	cfg gateway.Config
	gw  *gateway.Gateway
}

// options tune a test gateway.
type options struct {
	durable bool   // durable store in dataDir (a temp dir when empty)
	dataDir string // reuse a data dir (restart tests)
	edit    func(*gateway.Config)
}

// startServer starts a gateway with every built door on 127.0.0.1:0 and
// stops it when the test ends.
func startServer(t *testing.T, o options) *server {
	t.Helper()
	cfg := gateway.Default()
	cfg.Storage = gateway.StorageMemory
	if o.durable || o.dataDir != "" {
		cfg.Storage = gateway.StorageDurable
		cfg.DataDir = o.dataDir
		if cfg.DataDir == "" {
			cfg.DataDir = t.TempDir()
		}
	}
	for _, l := range []*gateway.ListenerConfig{&cfg.Listeners.AMQP, &cfg.Listeners.MQTT, &cfg.Listeners.STOMP,
		&cfg.Listeners.WebSTOMP, &cfg.Listeners.WebMQTT, &cfg.Listeners.HTTPAPI, &cfg.Listeners.Management} {
		l.Addr = "127.0.0.1:0"
	}
	if o.edit != nil {
		o.edit(&cfg)
	}
	s := &server{t: t, cfg: cfg}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func testLogger() *slog.Logger {
	if os.Getenv("MQGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (s *server) start() {
	s.t.Helper()
	gw, err := gateway.New(s.cfg, testLogger())
	if err != nil {
		s.t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.gw = gw
}

// stop shuts the gateway down (idempotent).
func (s *server) stop() {
	if s.gw == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.gw.Shutdown(ctx); err != nil {
		s.t.Errorf("shutdown: %v", err)
	}
	s.gw = nil
}

// restart stops the gateway and starts it again on the same data, with the
// same ports when they are free (new ones otherwise).
func (s *server) restart() {
	s.t.Helper()
	addrs := s.gw.Addrs()
	s.stop()
	for name, a := range addrs {
		if l := s.listener(name); l != nil {
			l.Addr = a.String()
		}
	}
	s.start()
}

func (s *server) listener(name string) *gateway.ListenerConfig {
	l := &s.cfg.Listeners
	switch name {
	case "amqp":
		return &l.AMQP
	case "mqtt":
		return &l.MQTT
	case "stomp":
		return &l.STOMP
	case "web_stomp":
		return &l.WebSTOMP
	case "web_mqtt":
		return &l.WebMQTT
	case "http_api":
		return &l.HTTPAPI
	case "management":
		return &l.Management
	}
	return nil
}

// addr returns the bound address of door name ("amqp", "mqtt", "http_api", …).
func (s *server) addr(name string) string {
	s.t.Helper()
	a, ok := s.gw.Addrs()[name]
	if !ok {
		s.t.Fatalf("door %q is not listening", name)
	}
	return a.(*net.TCPAddr).String()
}

// waitFor polls cond every millisecond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}
