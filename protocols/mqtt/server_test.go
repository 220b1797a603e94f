package mqtt

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// After Shutdown nothing of the front-end runs: no connection, writer,
// expiry or will timer goroutine is left behind.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	st := store.NewMemory()
	b, err := core.New(core.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{b.AddVHost("/"), b.PutUser("guest", "guest", nil),
		b.SetPermissions("guest", "/", ".*", ".*", ".*")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := New(DefaultConfig(), b, slog.New(slog.DiscardHandler))
	for _, v := range []byte{3, 4, 5} {
		seed := sessionSeed(t, v) // a persistent session (5, with expiry) with a delayed will, clean ones
		serve(t, s, seed[:len(seed)-2], func(types map[byte]int) bool { return types[0x09] > 0 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	_ = st.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// A session persisted by one Server is back, with its subscriptions, in the
// next one on the same store, and expires there.
func TestSessionsComeBackFromTheStore(t *testing.T) {
	st := store.NewMemory()
	b, err := core.New(core.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{b.AddVHost("/"), b.PutUser("guest", "guest", nil),
		b.SetPermissions("guest", "/", ".*", ".*", ".*")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := New(DefaultConfig(), b, nil)
	seed := sessionSeed(t, 5) // client "fuzz", session expiry 60 s; f/# is unsubscribed at the end
	serve(t, s, seed[:len(seed)-2], func(types map[byte]int) bool { return types[0x0b] > 0 })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := New(DefaultConfig(), b, nil)
	defer func() {
		_ = s2.Shutdown(context.Background())
		_ = b.Close()
		_ = st.Close()
	}()
	s2.mu.Lock()
	ss := s2.sessions["fuzz"]
	s2.mu.Unlock()
	if ss == nil || len(ss.subs) != 2 || ss.subs["f/+/x"].qos != 0 || ss.subs["$share/g/f/+"].group != "g" {
		t.Fatalf("restored session %+v", ss)
	}
	if n := s2.shared[sharedKey("/", sharedQueueName("g", "f/+"))]; n != 1 {
		t.Fatalf("shared members %d", n)
	}
	// The connection ended without DISCONNECT: its will (delay 1 s) waits in
	// the record, and its timer runs again in the new Server.
	ss.life.Lock()
	w, armed := ss.will, ss.willTimer != nil
	ss.life.Unlock()
	if w == nil || w.msg.topic != "w/t" || string(w.msg.payload) != "bye" || w.delay != 1 ||
		w.msg.props.ContentType != "text/plain" || !armed {
		t.Fatalf("restored will %+v, timer armed %v", w, armed)
	}
	// Once published, it is gone from the record: another restart does not
	// publish it again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var rec *sessionRecord
		err := b.Records(store.KindSession, func(key string, v []byte) error {
			if key == "fuzz" {
				var err error
				rec, err = decodeSessionRecord(v)
				return err
			}
			return nil
		})
		if err != nil || rec == nil {
			t.Fatalf("session record: %v", err)
		}
		if rec.Will == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the will is still in the session record after its delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
