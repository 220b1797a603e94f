package httpconn

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve starts a Server for h on a loopback listener, accepting as the
// gateway's door does, and returns its address.
func serve(t *testing.T, h http.Handler, opts Options) (*Server, string) {
	t.Helper()
	s := New(h, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, ln.Addr().String()
}

// echo answers with the method, the body and the Host.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Remote-Set", fmt.Sprint(r.RemoteAddr != ""))
	fmt.Fprintf(w, "%s %s %s", r.Method, b, r.Host)
})

// raw writes request bytes on a new connection and reads responses.
type raw struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) read(method string) (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection (EOF next).
func (r *raw) closed() bool {
	_, err := r.br.ReadByte()
	return err == io.EOF
}

// TestKeepAliveThroughNetHTTPClient: net/http's client reuses one
// connection, and sees the body, the handler's headers, Date and the length.
func TestKeepAliveThroughNetHTTPClient(t *testing.T) {
	_, addr := serve(t, echo, Options{})
	conns := 0
	tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		conns++
		return (&net.Dialer{}).DialContext(ctx, n, a)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for i := range 3 {
		resp, err := c.Post("http://"+addr+"/", "text/plain", strings.NewReader(fmt.Sprint("body", i)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("POST body%d %s", i, addr); string(b) != want {
			t.Fatalf("body %q, want %q", b, want)
		}
		if resp.ContentLength != int64(len(b)) || resp.Header.Get("Date") == "" ||
			resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-Remote-Set") != "true" {
			t.Fatalf("headers %v, length %d", resp.Header, resp.ContentLength)
		}
	}
	if conns != 1 {
		t.Fatalf("%d connections for 3 requests, want 1", conns)
	}
}

// TestPipelinedAndChunked: two requests written at once, the first with a
// chunked body, are answered in order on the connection.
func TestPipelinedAndChunked(t *testing.T) {
	_, addr := serve(t, echo, Options{})
	r := dial(t, addr)
	r.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nfg")
	if _, b := r.read("POST"); b != "POST abcde h" {
		t.Fatalf("first: %q", b)
	}
	if _, b := r.read("POST"); b != "POST fg h" {
		t.Fatalf("second: %q", b)
	}
}

// TestExpectContinue: a client that waits for 100 Continue gets it, then
// the response; any other expectation is refused with 417.
func TestExpectContinue(t *testing.T) {
	_, addr := serve(t, echo, Options{})
	r := dial(t, addr)
	r.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	line, err := r.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q %v", line, err)
	}
	if blank, _ := r.br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100: %q", blank)
	}
	r.send("xyz")
	if _, b := r.read("POST"); b != "POST xyz h" {
		t.Fatalf("body %q", b)
	}

	r = dial(t, addr)
	r.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: something-else\r\n\r\nxyz")
	if resp, _ := r.read("POST"); resp.StatusCode != http.StatusExpectationFailed || !r.closed() {
		t.Fatalf("status %d, want 417 and a close", resp.StatusCode)
	}
}

// TestConnectionClose: Connection: close and HTTP/1.0 without keep-alive
// end the connection after the response, which says so; HTTP/1.0 with
// keep-alive keeps it, and says that.
func TestConnectionClose(t *testing.T) {
	_, addr := serve(t, echo, Options{})
	r := dial(t, addr)
	r.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if resp, b := r.read("GET"); b != "GET  h" || !resp.Close || !r.closed() {
		t.Fatalf("body %q, close %v", b, resp.Close)
	}
	r = dial(t, addr)
	r.send("GET / HTTP/1.0\r\n\r\n")
	if resp, _ := r.read("GET"); !resp.Close || !r.closed() {
		t.Fatal("HTTP/1.0 connection not closed")
	}
	r = dial(t, addr)
	r.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")
	if resp, _ := r.read("GET"); resp.Close || resp.Header.Get("Connection") != "keep-alive" {
		t.Fatalf("HTTP/1.0 keep-alive: close %v, header %v", resp.Close, resp.Header)
	}
	if resp, _ := r.read("GET"); !resp.Close || !r.closed() {
		t.Fatal("second HTTP/1.0 request did not close")
	}
}

// TestHead: a HEAD response carries the length of the body it leaves out.
func TestHead(t *testing.T) {
	_, addr := serve(t, echo, Options{})
	r := dial(t, addr)
	r.send("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, b := r.read("HEAD"); resp.ContentLength != int64(len("HEAD  h")) || b != "" {
		t.Fatalf("HEAD: length %d, body %q", resp.ContentLength, b)
	}
	if _, b := r.read("GET"); b != "GET  h" {
		t.Fatalf("GET after HEAD: %q", b)
	}
}

// TestBadRequests: what net/http's server refuses is refused, with the
// same status, and the connection closed.
func TestBadRequests(t *testing.T) {
	_, addr := serve(t, echo, Options{MaxHeaderBytes: 1024})
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"garbage", "hello\r\n\r\n", 400},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n", 400},
		{"two lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"HTTP/2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		{"header too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dial(t, addr)
			r.send(tc.req)
			resp, _ := r.read("GET")
			if resp.StatusCode != tc.status || !r.closed() {
				t.Fatalf("status %d, want %d and a close", resp.StatusCode, tc.status)
			}
		})
	}
}

// TestUnreadBody: a body the handler did not read is drained so the next
// request is read from where it starts; beyond the drain bound, the
// connection closes after the response instead.
func TestUnreadBody(t *testing.T) {
	ignore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	_, addr := serve(t, ignore, Options{})
	r := dial(t, addr)
	r.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	r.read("POST")
	if resp, b := r.read("GET"); b != "ok" || resp.Close {
		t.Fatalf("request after an unread body: %q", b)
	}
	r = dial(t, addr)
	big := maxDrainBytes + 10
	go func() {
		io.WriteString(r.c, fmt.Sprintf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", big))
		r.c.Write(make([]byte, big))
	}()
	if resp, b := r.read("POST"); b != "ok" || !resp.Close {
		t.Fatalf("response %q, close %v", b, resp.Close)
	}
}

// TestClientGoneCancelsWait: a handler waiting on its context is
// cancelled when the client closes the connection; one answering at once
// never starts the watch, and a pipelined request read ahead by a watch is
// served intact.
func TestClientGoneCancelsWait(t *testing.T) {
	cancelled := make(chan bool, 1)
	wait := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		if r.URL.Path == "/now" {
			io.WriteString(w, "now")
			return
		}
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(200 * time.Millisecond):
			if r.URL.Path == "/wait" {
				cancelled <- false
			}
		}
		io.WriteString(w, "waited")
	})
	_, addr := serve(t, wait, Options{})
	r := dial(t, addr)
	r.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	r.c.Close()
	select {
	case c := <-cancelled:
		if !c {
			t.Fatal("the handler's context was not cancelled when its client left")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler never returned")
	}

	r = dial(t, addr)
	r.send("GET /pipelined HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the handler waits, its watch reads ahead
	r.send("GET /now HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, b := r.read("GET"); b != "waited" {
		t.Fatalf("first: %q", b)
	}
	if _, b := r.read("GET"); b != "now" {
		t.Fatalf("pipelined request after a read-ahead: %q", b)
	}
}

// TestShutdown: idle connections close at once; a busy one finishes its
// response, marked Connection: close; Shutdown returns when both are gone.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "done")
	})
	s, addr := serve(t, slow, Options{})
	idle := dial(t, addr)
	idle.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	idle.read("GET")
	busy := dial(t, addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Fatal("idle connection not closed by Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if resp, b := busy.read("GET"); b != "done" || !resp.Close || !busy.closed() {
		t.Fatalf("busy response %q, close %v", b, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// TestIdleTimeout: a connection that sends nothing is closed.
func TestIdleTimeout(t *testing.T) {
	_, addr := serve(t, echo, Options{IdleTimeout: 50 * time.Millisecond})
	r := dial(t, addr)
	if !r.closed() {
		t.Fatal("idle connection not closed")
	}
}

// TestContextEndsWithHandler: a request's context is cancelled once its
// handler returned, whether or not anything waited on it before, and no
// watch starts after (the next request is served intact).
func TestContextEndsWithHandler(t *testing.T) {
	kept := make(chan context.Context, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/waited" {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		if err := r.Context().Err(); err != nil {
			t.Errorf("context already ended in the handler: %v", err)
		}
		kept <- r.Context()
		io.WriteString(w, r.URL.Path)
	})
	_, addr := serve(t, h, Options{})
	r := dial(t, addr)
	r.send("GET /plain HTTP/1.1\r\nHost: h\r\n\r\nGET /waited HTTP/1.1\r\nHost: h\r\n\r\n")
	for _, want := range []string{"/plain", "/waited"} {
		if _, b := r.read("GET"); b != want {
			t.Fatalf("response %q, want %q", b, want)
		}
		ctx := <-kept
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: context not cancelled after the handler", want)
		}
		if ctx.Err() != context.Canceled {
			t.Fatalf("%s: Err %v", want, ctx.Err())
		}
	}
	r.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, b := r.read("GET"); b != "/again" {
		t.Fatalf("request after a late Done: %q", b)
	}
}

// TestIdleTimeoutStartsAfresh: the time a connection sat idle before a
// request does not count against the request: a handler that waits is not
// cut short by the idle deadline of the wait before it.
func TestIdleTimeoutStartsAfresh(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // as the AWS handlers do: the watch starts after the body
		select {
		case <-r.Context().Done():
			w.WriteHeader(http.StatusServiceUnavailable)
		case <-time.After(250 * time.Millisecond):
			io.WriteString(w, "waited")
		}
	})
	_, addr := serve(t, h, Options{IdleTimeout: 400 * time.Millisecond})
	r := dial(t, addr)
	time.Sleep(250 * time.Millisecond) // idle, within the timeout
	r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, b := r.read("GET"); resp.StatusCode != http.StatusOK || b != "waited" {
		t.Fatalf("status %d, body %q", resp.StatusCode, b)
	}
}
