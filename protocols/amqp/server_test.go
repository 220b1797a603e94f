package amqp

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// TestMain fails the package's tests if a goroutine they started outlives
// them: every connection's reader and writer must end with the connection.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := waitGoroutines(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitGoroutines polls until no goroutine but the caller and the runtime's
// own (signal handling, started by the fuzzing engine) runs, or reports the
// others' stacks.
func waitGoroutines(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		others := otherGoroutines()
		if len(others) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d still running:\n\n%s", len(others), strings.Join(others, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func otherGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "os/signal.signal_recv") || strings.TrimSpace(g) == "" {
			continue // the caller (listed first), and the signal loop
		}
		out = append(out, g)
	}
	return out
}

// testServer is a Server on 127.0.0.1:0 over a broker of its own, with
// guest/guest on vhost /.
type testServer struct {
	srv  *Server
	b    *core.Broker
	ln   net.Listener
	addr string
	done chan error
}

func startTestServer(t testing.TB, cfg Config, st store.Store) *testServer {
	t.Helper()
	if st == nil {
		st = store.NewMemory()
	}
	b, err := core.New(core.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []error{b.AddVHost("/"), b.PutUser("guest", "guest", nil),
		b.SetPermissions("guest", "/", ".*", ".*", ".*")} {
		if step != nil {
			t.Fatal(step)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: New(cfg, b, nil), b: b, ln: ln, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		ln.Close()
		if err := <-ts.done; err != ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
		_ = b.Close()
		_ = st.Close()
	})
	return ts
}

func (ts *testServer) url() string { return "amqp://guest:guest@" + ts.addr + "/" }
