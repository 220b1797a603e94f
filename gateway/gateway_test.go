package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
)

// logBuffer collects a gateway's log for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// testConfig is Default with its doors on 127.0.0.1 port 0, so tests can run
// side by side and beside a real mqgate.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	for _, d := range cfg.Listeners.doors() {
		d.cfg.Addr = "127.0.0.1:0"
	}
	return cfg
}

func startGateway(t *testing.T, cfg Config) (*Gateway, *logBuffer) {
	t.Helper()
	log, lb := newLogger(t)
	gw, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		t.Fatalf("Start: %v\nlog:\n%s", err, lb)
	}
	return gw, lb
}

func shutdown(t *testing.T, gw *Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := Default()
	cfg.Storage = "tape"
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "storage:") {
		t.Fatalf("New = %v, want a storage error", err)
	}
}

func TestStartShutdownDurable(t *testing.T) {
	cfg := testConfig(t)
	gw, lb := startGateway(t, cfg)

	if fi, err := os.Stat(cfg.DataDir); err != nil || !fi.IsDir() {
		t.Fatalf("data dir: %v", err)
	}
	log := lb.String()
	for _, want := range []string{"mqgate started", "storage=durable", "data_dir=" + cfg.DataDir} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// Every enabled door is either listening, at the address Addrs reports
	// and the log names, or named as not built yet.
	addrs := gw.Addrs()
	notBuilt := ""
	if i := strings.Index(log, "not_built="); i >= 0 {
		notBuilt = strings.Fields(log[i+len("not_built="):])[0]
	}
	for _, d := range cfg.Listeners.doors() {
		if !d.cfg.Enabled {
			continue
		}
		a, listening := addrs[d.name]
		built := !slices.Contains(strings.Split(notBuilt, ","), d.name)
		switch {
		case listening && !built, !listening && built:
			t.Errorf("door %s: listening=%v but not_built=%q", d.name, listening, notBuilt)
		case listening && !strings.Contains(log, d.name+"="+a.String()):
			t.Errorf("log does not name %s=%s:\n%s", d.name, a, log)
		}
	}
	if err := gw.Start(); err == nil {
		t.Error("second Start succeeded")
	}

	shutdown(t, gw)
	shutdown(t, gw) // idempotent
	if err := gw.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Shutdown = %v, want ErrClosed", err)
	}
	if !strings.Contains(lb.String(), "mqgate stopped") {
		t.Errorf("log lacks the stop:\n%s", lb)
	}
}

func TestStartRelativeDataDirLogsAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg := testConfig(t)
	cfg.DataDir = DefaultDataDir
	gw, lb := startGateway(t, cfg)
	defer shutdown(t, gw)
	abs := filepath.Join(dir, "mqgate-data")
	if !strings.Contains(lb.String(), "data_dir="+abs+" ") {
		t.Errorf("log does not name %s:\n%s", abs, lb)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Error(err)
	}
}

func TestStartShutdownMemory(t *testing.T) {
	cfg := testConfig(t)
	cfg.Storage = StorageMemory
	gw, lb := startGateway(t, cfg)
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Errorf("memory storage created the data dir: %v", err)
	}
	if log := lb.String(); !strings.Contains(log, "storage=memory") || strings.Contains(log, "data_dir=") {
		t.Errorf("log:\n%s", log)
	}
	shutdown(t, gw)
	shutdown(t, gw)
}

func TestShutdownBeforeStart(t *testing.T) {
	gw, err := New(testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, gw)
	if err := gw.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Shutdown = %v, want ErrClosed", err)
	}
}

func TestReopenDataDir(t *testing.T) {
	cfg := testConfig(t)
	for i := range 3 {
		gw, _ := startGateway(t, cfg)
		shutdown(t, gw)
		if i == 0 {
			// The file grows users a vhost: the next start applies it to the
			// data recovered from the last.
			cfg.VHosts = append(cfg.VHosts, "prod")
			cfg.Permissions = append(cfg.Permissions, PermissionConfig{User: "guest", VHost: "prod", Read: ".*"})
		}
	}
}

// echo is a front-end that echoes lines, to exercise doors.
type echo struct {
	mu       sync.Mutex
	shutdown bool
	served   int
}

func (e *echo) ServeConn(c net.Conn) {
	e.mu.Lock()
	e.served++
	e.mu.Unlock()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if line == "panic\n" {
			panic("echo asked to panic")
		}
		if _, err := c.Write([]byte(line)); err != nil {
			return
		}
	}
}

func (e *echo) Shutdown(context.Context) error {
	e.mu.Lock()
	e.shutdown = true
	e.mu.Unlock()
	return nil
}

func withFrontEnds(gw *Gateway, fes map[string]frontEnd) {
	gw.frontEnds = func(*core.Broker, Config, *slog.Logger) map[string]frontEnd { return fes }
}

func roundTrip(t *testing.T, c net.Conn, line string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != line {
		t.Fatalf("echo = %q, %v; want %q", got, err, line)
	}
}

func TestDoorServesUntilShutdown(t *testing.T) {
	cfg := testConfig(t)
	cfg.Storage = StorageMemory
	log, lb := newLogger(t)
	gw, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	fe := &echo{}
	withFrontEnds(gw, map[string]frontEnd{"amqp": fe, "amqps": fe}) // amqps is disabled: not started
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := gw.Addrs()
	if len(addrs) != 1 || addrs["amqp"] == nil {
		t.Fatalf("Addrs = %v, want amqp only", addrs)
	}
	if !strings.Contains(lb.String(), `listening="amqp=`+addrs["amqp"].String()+`"`) {
		t.Errorf("log does not name the door:\n%s", lb)
	}

	c, err := net.Dial("tcp", addrs["amqp"].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, "hello\n")

	// A panic ends that connection only.
	p, err := net.Dial("tcp", addrs["amqp"].String())
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("panic\n"))
	p.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.Read(make([]byte, 1)); err == nil {
		t.Error("the panicking connection stayed open")
	}
	p.Close()
	roundTrip(t, c, "still here\n")

	shutdown(t, gw)
	if len(gw.Addrs()) != 0 {
		t.Errorf("Addrs after Shutdown = %v", gw.Addrs())
	}
	fe.mu.Lock()
	if !fe.shutdown || fe.served != 2 {
		t.Errorf("front-end shutdown=%v served=%d", fe.shutdown, fe.served)
	}
	fe.mu.Unlock()
	// The connection the front-end left open was closed by the gateway.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Shutdown")
	}
	if _, err := net.Dial("tcp", addrs["amqp"].String()); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
	if !strings.Contains(lb.String(), "panic serving connection") {
		t.Errorf("the panic was not logged:\n%s", lb)
	}
}

func TestStartFailureReleasesEverything(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	cfg := testConfig(t)
	cfg.Listeners.MQTT.Addr = busy.Addr().String()
	gw, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	withFrontEnds(gw, map[string]frontEnd{"amqp": &echo{}, "mqtt": &echo{}})
	if err := gw.Start(); err == nil || !strings.Contains(err.Error(), "listeners.mqtt") {
		t.Fatalf("Start = %v, want a listeners.mqtt error", err)
	}
	// The store was closed again: another gateway opens the same data dir.
	cfg.Listeners.MQTT.Addr = "127.0.0.1:0"
	again, _ := startGateway(t, cfg)
	shutdown(t, again)
}

func TestShutdownBoundedByContext(t *testing.T) {
	cfg := testConfig(t)
	cfg.Storage = StorageMemory
	gw, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	withFrontEnds(gw, map[string]frontEnd{"stomp": stuck{release}})
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := gw.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	close(release)
	shutdown(t, gw) // the first shutdown completes in the background
}

// stuck is a front-end whose Shutdown does not return until released.
type stuck struct{ release chan struct{} }

func (stuck) ServeConn(net.Conn) {}

func (s stuck) Shutdown(context.Context) error {
	<-s.release
	return nil
}

func newDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
