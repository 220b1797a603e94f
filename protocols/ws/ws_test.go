package ws

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// echoServer serves an echo route (binary, or text when text is set) and
// reports each connection's read error.
func echoServer(t *testing.T, cfg Config, text bool) (addr string, readErr chan error) {
	t.Helper()
	readErr = make(chan error, 8)
	s := New(cfg, nil)
	s.Handle(Route{Paths: []string{"/ws", "/mqtt"}, Subprotocols: []string{"mqtt", "mqttv3.1"}, Text: text,
		Serve: func(c net.Conn) {
			_, err := io.Copy(c, c)
			readErr <- err
		}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ln.Addr().String(), readErr
}

func dial(t *testing.T, url string, d websocket.Dialer, h http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d.HandshakeTimeout = 5 * time.Second
	c, resp, err := d.Dial(url, h)
	if c != nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	return c, resp, err
}

func TestSubprotocolNegotiation(t *testing.T) {
	addr, _ := echoServer(t, Config{}, false)
	for _, tc := range []struct {
		offer  []string
		want   string
		status int
	}{
		{[]string{"mqtt"}, "mqtt", 101},
		{[]string{"mqttv3.1"}, "mqttv3.1", 101},
		{[]string{"mqttv3.1", "mqtt"}, "mqtt", 101}, // the server's preference
		{nil, "", 101},
		{[]string{"stomp"}, "", 400},
	} {
		c, resp, err := dial(t, "ws://"+addr+"/mqtt", websocket.Dialer{Subprotocols: tc.offer}, nil)
		if resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("offer %q: %v %v, want status %d", tc.offer, resp, err, tc.status)
		}
		if c != nil && c.Subprotocol() != tc.want {
			t.Fatalf("offer %q: chose %q, want %q", tc.offer, c.Subprotocol(), tc.want)
		}
	}
}

func TestPaths(t *testing.T) {
	addr, _ := echoServer(t, Config{}, false)
	if _, resp, _ := dial(t, "ws://"+addr+"/other", websocket.Dialer{}, nil); resp == nil || resp.StatusCode != 404 {
		t.Fatalf("unknown path: %v", resp)
	}
	resp, err := http.Get("http://" + addr + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("plain GET: status %d, want 426", resp.StatusCode)
	}
	for _, p := range []string{"/ws", "/mqtt"} {
		if _, resp, err := dial(t, "ws://"+addr+p, websocket.Dialer{}, nil); err != nil {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
	}
}

func TestOriginCheck(t *testing.T) {
	addr, _ := echoServer(t, Config{AllowedOrigins: []string{"https://app.example"}}, false)
	for origin, want := range map[string]int{"https://app.example": 101, "https://APP.example": 101,
		"https://evil.example": 403, "": 101} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		if _, resp, err := dial(t, "ws://"+addr+"/ws", websocket.Dialer{}, h); resp == nil || resp.StatusCode != want {
			t.Fatalf("origin %q: %v %v, want %d", origin, resp, err, want)
		}
	}
	if err := (Config{AllowedOrigins: []string{"app.example"}}).Validate(); err == nil {
		t.Fatal("an origin without a scheme passed validation")
	}
}

// The byte stream does not care how the peer frames it: messages split
// across frames (continuation frames) and data split across messages.
func TestStreamAcrossFramesAndMessages(t *testing.T) {
	addr, _ := echoServer(t, Config{}, false)
	// A tiny write buffer makes gorilla send every message as several frames.
	c, _, err := dial(t, "ws://"+addr+"/ws", websocket.Dialer{WriteBufferSize: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("0123456789", 10)
	for _, part := range []string{"he", "llo ", long, " world"} {
		if err := c.WriteMessage(websocket.BinaryMessage, []byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	want := "hello " + long + " world"
	var got bytes.Buffer
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got.Len() < len(want) {
		mt, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		if mt != websocket.BinaryMessage {
			t.Fatalf("echo came as message type %d", mt)
		}
		got.Write(p)
	}
	if got.String() != want {
		t.Fatalf("echo %q, want %q", got.String(), want)
	}
}

func TestTextMessageEndsBinaryConnection(t *testing.T) {
	addr, readErr := echoServer(t, Config{}, false)
	c, _, err := dial(t, "ws://"+addr+"/ws", websocket.Dialer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("text")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseUnsupportedData) {
		t.Fatalf("client read: %v, want close 1003", err)
	}
	if err := <-readErr; !errors.Is(err, ErrTextMessage) {
		t.Fatalf("server read: %v, want ErrTextMessage", err)
	}
}

func TestTextRoute(t *testing.T) {
	addr, _ := echoServer(t, Config{}, true)
	c, _, err := dial(t, "ws://"+addr+"/ws", websocket.Dialer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("CONNECT\n\n\x00")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, p, err := c.ReadMessage()
	if err != nil || mt != websocket.TextMessage || string(p) != "CONNECT\n\n\x00" {
		t.Fatalf("echo: type %d %q %v", mt, p, err)
	}
}

// Shutdown closes the connections still open; their handlers return.
func TestShutdownClosesConnections(t *testing.T) {
	s := New(Config{}, nil)
	served := make(chan struct{})
	ended := make(chan struct{})
	s.Handle(Route{Paths: []string{"/ws"}, Serve: func(c net.Conn) {
		close(served)
		_, _ = io.Copy(io.Discard, c)
		close(ended)
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	if _, _, err := dial(t, "ws://"+ln.Addr().String()+"/ws", websocket.Dialer{}, nil); err != nil {
		t.Fatal(err)
	}
	<-served
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("handler still running after Shutdown")
	}
}

// Deadlines may be set while a write is blocked (net.Conn's contract), as
// the front-ends do at shutdown.
func TestWriteDeadlineWhileWriting(t *testing.T) {
	s := New(Config{}, nil)
	wrote := make(chan error, 1)
	s.Handle(Route{Paths: []string{"/ws"}, Serve: func(c net.Conn) {
		big := make([]byte, 1<<20)
		// The peer never reads: the writes fill the socket buffers and block,
		// unless the deadline, set concurrently, came first.
		go func() { _ = c.SetWriteDeadline(time.Now()) }()
		var err error
		for err == nil {
			_, err = c.Write(big)
		}
		wrote <- err
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if _, _, err := dial(t, "ws://"+ln.Addr().String()+"/ws", websocket.Dialer{}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-wrote:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("blocked write ended with %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked write not ended by its deadline")
	}
}
