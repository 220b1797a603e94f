package httpconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Server serves HTTP/1.1 connections with Handler. Its zero value is not
// ready: use New.
type Server struct {
	handler http.Handler
	opts    Options

	mu      sync.Mutex
	closing bool
	conns   map[*conn]bool // true: idle, waiting for a request
	gone    chan struct{}  // signalled when a connection ends during shutdown
}

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// BaseContext is the parent of every request's context; cancelling it
	// cancels them all (ending long polls at shutdown).
	BaseContext context.Context
	// ReadHeaderTimeout bounds the time to read a request's header section
	// once its first byte has arrived. Default 30 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection. Default 120 s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and header section. Default
	// 1 MiB, net/http's.
	MaxHeaderBytes int
}

// maxDrainBytes is how much of a body the handler left unread is read and
// discarded so the connection can serve another request; beyond it the
// connection is closed instead (net/http's maxPostHandlerReadBytes).
const maxDrainBytes = 256 << 10

// New returns a Server for h.
func New(h http.Handler, opts Options) *Server {
	if opts.BaseContext == nil {
		opts.BaseContext = context.Background()
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 30 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 120 * time.Second
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = 1 << 20
	}
	return &Server{handler: h, opts: opts, conns: map[*conn]bool{}, gone: make(chan struct{}, 1)}
}

// ServeConn serves requests on nc until the client closes it, a request asks
// for the connection to close, an error or timeout ends it, or Shutdown. It
// closes nc before returning.
func (s *Server) ServeConn(nc net.Conn) {
	c := &conn{s: s, nc: nc, src: source{nc: nc}}
	c.br = bufio.NewReaderSize(&c.src, 4<<10)
	defer nc.Close()
	if !s.track(c) {
		return
	}
	defer s.untrack(c)
	for c.serveOne() {
	}
}

// Shutdown stops serving: idle connections close at once, busy ones after
// their current response, which tells the client so (Connection: close).
// It returns when every connection has closed, or with ctx's error when ctx
// ends first; the caller then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for c, idle := range s.conns {
		if idle {
			c.wake()
		}
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-s.gone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = false
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	closing := s.closing
	s.mu.Unlock()
	if closing {
		select {
		case s.gone <- struct{}{}:
		default: // Shutdown has a wake-up pending already
		}
	}
}

// setIdle marks c idle (true) or busy, and reports false when the server is
// shutting down, in which case an idle connection must close.
func (s *Server) setIdle(c *conn, idle bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = idle
	return !s.closing
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// conn is one connection being served.
type conn struct {
	s   *Server
	nc  net.Conn
	src source
	br  *bufio.Reader
	tls *tls.ConnectionState
	rw  response
}

// wake ends a wait for the next request (Shutdown of an idle connection).
func (c *conn) wake() { _ = c.nc.SetReadDeadline(time.Now()) }

// serveOne reads and answers one request, and reports whether the
// connection stays open for another.
func (c *conn) serveOne() bool {
	// Wait for the request's first byte under the idle timeout, then read
	// its header section under the header timeout (not set when the header
	// section has arrived whole: reading it cannot wait then). The deadline
	// is set before the connection is marked idle, so Shutdown's wake
	// overrides it.
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.IdleTimeout))
	if !c.s.setIdle(c, true) {
		return false
	}
	c.src.limit = int64(c.s.opts.MaxHeaderBytes) + 4<<10 // net/http's slack for the request line
	if _, err := c.br.Peek(1); err != nil {
		return false
	}
	c.s.setIdle(c, false)
	headerDeadline := !headerBuffered(c.br)
	if headerDeadline {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.ReadHeaderTimeout))
	}
	req, err := http.ReadRequest(c.br)
	c.src.limit = math.MaxInt64
	if err != nil {
		c.refuse(err)
		return false
	}
	// The body, and a long poll's watch, get the idle timeout afresh: far
	// above the 20 s of a long poll, and a bound on a client that stops
	// sending its body (net/http's server, without a ReadTimeout, has none).
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.IdleTimeout))
	if status, msg := check(req); status != 0 {
		c.writeStatus(status, msg)
		return false
	}
	if req.ProtoAtLeast(1, 1) && req.ContentLength != 0 && hasToken(req.Header["Expect"], "100-continue") {
		// Sent at once rather than on the first read of the body: the
		// handlers read every body, and the client may send it anyway.
		if _, err := io.WriteString(c.nc, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return false
		}
	}
	if c.tls == nil {
		if tc, ok := c.nc.(*tls.Conn); ok {
			st := tc.ConnectionState()
			c.tls = &st
		}
	}
	req.TLS = c.tls
	req.RemoteAddr = c.nc.RemoteAddr().String()
	return c.serve(req)
}

// serve runs the handler on req and writes its response.
func (c *conn) serve(req *http.Request) (keep bool) {
	// A request's body, watch and context, in one allocation.
	st := &struct {
		body
		watch
		watchContext
	}{body: body{ReadCloser: req.Body}}
	b, ctx := &st.body, &st.watchContext
	st.watch = watch{c: c, body: b}
	*ctx = watchContext{Context: c.s.opts.BaseContext, w: &st.watch}
	req.Body = b
	req = req.WithContext(ctx)
	rw := &c.rw
	rw.reset(req)
	c.s.handler.ServeHTTP(rw, req)
	if ctx.release() {
		return false // the client is gone: nobody to answer
	}
	keep = !req.Close && !c.s.shuttingDown()
	unread := false
	if keep && !b.eof {
		// Drain what the handler left, up to a bound, so that the next
		// request starts where this body ends.
		n, err := io.CopyN(io.Discard, b, maxDrainBytes+1)
		keep = (err == io.EOF || err == nil && b.eof) && n <= maxDrainBytes
		unread = !keep
	}
	if err := rw.send(c.nc, keep); err != nil {
		return false
	}
	if unread {
		c.closeGently()
	}
	return keep
}

// headerBuffered reports whether br holds a whole header section already,
// so that reading it cannot wait for the network.
func headerBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// refuse answers a request that could not be read, as net/http does, when
// there is a client left to tell.
func (c *conn) refuse(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.As(err, &ne) && ne.Timeout():
		// The client closed, or sent nothing in time: nobody to answer.
	case errors.Is(err, errHeaderTooLarge):
		c.writeStatus(http.StatusRequestHeaderFieldsTooLarge, "")
	default:
		c.writeStatus(http.StatusBadRequest, "")
	}
}

// check refuses what http.ReadRequest accepts but a server must not: the
// checks net/http's server makes after parsing.
func check(req *http.Request) (status int, msg string) {
	if req.ProtoMajor != 1 {
		return http.StatusHTTPVersionNotSupported, ""
	}
	// http.ReadRequest refused a second Host and moved the one there was
	// into req.Host.
	if req.ProtoAtLeast(1, 1) && req.Host == "" {
		return http.StatusBadRequest, "missing required Host header"
	}
	if !httpguts.ValidHostHeader(req.Host) {
		return http.StatusBadRequest, "malformed Host header"
	}
	if exp := req.Header["Expect"]; len(exp) > 0 && !hasToken(exp, "100-continue") {
		return http.StatusExpectationFailed, ""
	}
	return 0, ""
}

// writeStatus answers with a bare status and closes (the caller returns
// false): the request could not be served, and what follows it on the
// connection cannot be trusted.
func (c *conn) writeStatus(status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	rw := &c.rw
	rw.reset(nil)
	rw.h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(msg))
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second)) // a client that does not read must not hold us
	if rw.send(c.nc, false) == nil {
		c.closeGently()
	}
}

// closeGently prepares a close with request bytes unread, which would reset
// the connection and could lose the response on its way to the client: it
// ends our side first and lets the rest of the request arrive for a moment
// (at most half a second, and what arrives is discarded), as net/http does.
func (c *conn) closeGently() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = io.Copy(io.Discard, c.nc)
	}
}

// hasToken reports whether a comma-separated header value lists token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// errHeaderTooLarge is source's error once a header section used its bytes.
var errHeaderTooLarge = errors.New("httpconn: request header section too large")

// source is what the connection's bufio.Reader reads from: the connection,
// behind a byte a watch read ahead, within a limit while a header section is
// read.
type source struct {
	nc       net.Conn
	limit    int64
	ahead    [1]byte
	hasAhead bool
}

func (s *source) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.limit <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > s.limit {
		p = p[:s.limit]
	}
	if s.hasAhead {
		p[0] = s.ahead[0]
		s.hasAhead = false
		s.limit--
		return 1, nil
	}
	n, err := s.nc.Read(p)
	s.limit -= int64(n)
	return n, err
}

// body is a request body that remembers whether it was read to its end.
type body struct {
	io.ReadCloser
	eof bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}
