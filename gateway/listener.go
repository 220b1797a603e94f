package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// frontEnd is what a front-end hands the gateway for one door: the surface
// every front-end exports (STYLE.md). ServeConn serves one connection until it
// ends; Shutdown stops the front-end's sessions, draining them until ctx is
// done. An HTTP front-end adapts its http.Server to it.
type frontEnd interface {
	ServeConn(net.Conn)
	Shutdown(ctx context.Context) error
}

// listenerServer is a front-end that serves a whole listener itself (an
// http.Server: WebSocket); the door hands it the listener instead of
// accepting.
type listenerServer interface {
	Serve(net.Listener) error
}

// group owns goroutines: Go refuses to start one after Close, so nothing
// outlives a shutdown unnoticed, and Wait waits for those it started.
type group struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs fn in a new goroutine and reports true, or reports false and runs
// nothing once g is closed.
func (g *group) Go(fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Go(fn)
	return true
}

// Close makes every later Go refuse.
func (g *group) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Wait waits until every goroutine g started has returned.
func (g *group) Wait() { g.wg.Wait() }

// door is one bound front door: its listener, the front-end serving each
// connection, and the connections being served, so a shutdown can close the
// ones the front-end did not drain.
type door struct {
	name string
	ln   net.Listener
	fe   frontEnd
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by close
	conns  map[net.Conn]struct{}
}

func newDoor(name string, ln net.Listener, fe frontEnd, log *slog.Logger) *door {
	return &door{
		name:  name,
		ln:    ln,
		fe:    fe,
		log:   log.With("listener", name, "addr", ln.Addr().String()),
		done:  make(chan struct{}),
		conns: map[net.Conn]struct{}{},
	}
}

// Accept back-off, as net/http's Server.Serve: from 5ms, doubling, to 1s.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
)

// serve accepts connections until the door is closed, serving each in a
// goroutine of g. A temporary accept error (out of file descriptors, a
// connection reset before accept) is retried after a growing delay; any other
// ends the door. It returns ErrClosed after close.
func (d *door) serve(g *group) error {
	if ls, ok := d.fe.(listenerServer); ok {
		// An http.Server front-end (WebSocket) serves the listener
		// itself; its Shutdown closes the connections.
		err := ls.Serve(d.ln)
		if d.isClosed() || errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	var delay time.Duration
	for {
		c, err := d.ln.Accept()
		if err != nil {
			if d.isClosed() || errors.Is(err, net.ErrClosed) {
				return ErrClosed
			}
			var temp interface{ Temporary() bool }
			if !errors.As(err, &temp) || !temp.Temporary() {
				return fmt.Errorf("%s: accept: %w", d.name, err)
			}
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			d.log.Warn("accept failed; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-d.done:
				t.Stop()
				return ErrClosed
			}
			continue
		}
		delay = 0
		if !d.track(c) {
			c.Close()
			return ErrClosed
		}
		if !g.Go(func() { d.serveConn(c) }) {
			d.untrack(c)
			c.Close()
			return ErrClosed
		}
	}
}

// serveConn serves c with the front-end. A panic ends this connection only,
// as in net/http.
func (d *door) serveConn(c net.Conn) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("panic serving connection", "remote", c.RemoteAddr().String(),
				"panic", r, "stack", string(debug.Stack()))
		}
		c.Close()
		d.untrack(c)
	}()
	d.fe.ServeConn(c)
}

func (d *door) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.conns[c] = struct{}{}
	return true
}

func (d *door) untrack(c net.Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

func (d *door) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// close stops accepting. Connections being served are left to the front-end's
// Shutdown, then to closeConns.
func (d *door) close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.done)
	d.mu.Unlock()
	if err := d.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%s: close listener: %w", d.name, err)
	}
	return nil
}

// closeConns closes every connection still being served, which makes their
// front-end's reads fail and their goroutines return.
func (d *door) closeConns() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.conns {
		c.Close()
	}
}

// listen binds the door cfg, wrapping the listener in TLS when cfg.TLS is set.
func listen(cfg ListenerConfig) (net.Listener, error) {
	var tc *tls.Config
	if cfg.TLS != nil {
		var err error
		if tc, err = cfg.TLS.config(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}

// config loads the certificate, key and client authorities of t.
func (t *TLSConfig) config() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load certificate %s and key %s: %w", t.CertFile, t.KeyFile, err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: %s holds no PEM certificate", t.CAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}
