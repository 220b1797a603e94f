// Package ws is the WebSocket transport of the MQTT and STOMP front-ends:
// it upgrades HTTP requests on its paths, negotiates the subprotocol, and
// hands each connection to the front-end registered for it as a net.Conn.
// It knows no protocol itself; the gateway registers the handlers.
package ws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Config configures the WebSocket doors. The YAML names are those of the
// gateway's file, under the key "websocket".
type Config struct {
	// AllowedOrigins lists the Origin header values a browser may connect
	// from, such as "https://app.example.com"; "*" allows any. Empty allows
	// any origin, as RabbitMQ's Web-MQTT and Web-STOMP do. A request without
	// Origin (not from a browser) is always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Validate reports problems with c.
func (c Config) Validate() error {
	var errs []error
	for i, o := range c.AllowedOrigins {
		if o == "" || (o != "*" && !strings.Contains(o, "://")) {
			errs = append(errs, fmt.Errorf("websocket.allowed_origins[%d]: %q is not \"*\" or scheme://host[:port]", i, o))
		}
	}
	return errors.Join(errs...)
}

// Route is what one set of paths serves.
type Route struct {
	// Paths are the request paths, such as "/ws" and "/mqtt".
	Paths []string
	// Subprotocols are offered in order of preference; the first that the
	// client also offers is chosen. A client that offers subprotocols, none
	// of them these, is refused; one that offers none is served.
	Subprotocols []string
	// Text makes text messages data (both ways); otherwise data is binary
	// and a text message ends the connection (MQTT over WebSocket).
	Text bool
	// Serve serves one connection until it ends.
	Serve func(net.Conn)
}

// Server serves the routes of one door.
type Server struct {
	cfg    Config
	log    *slog.Logger
	routes map[string]*Route
	http   *http.Server

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New returns a Server with no routes.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, routes: map[string]*Route{}, conns: map[*Conn]struct{}{}}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	return s
}

// Handle adds r. Call it before serving.
func (s *Server) Handle(r Route) {
	for _, p := range r.Paths {
		s.routes[p] = &r
	}
}

// Serve accepts HTTP connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// ServeConn is not used: the server takes the whole listener (Serve).
func (s *Server) ServeConn(c net.Conn) { _ = c.Close() }

// Shutdown stops accepting, closes the WebSocket connections still open and
// waits until their handlers have returned, or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("ws: shutdown: %w", ctx.Err())
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil // the gateway closed the listener first
	}
	return err
}

// ServeHTTP upgrades a request on a route's path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := s.routes[r.URL.Path]
	if rt == nil {
		http.NotFound(w, r)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this endpoint serves WebSocket connections only", http.StatusUpgradeRequired)
		return
	}
	offered := websocket.Subprotocols(r)
	if len(offered) > 0 && !slices.ContainsFunc(rt.Subprotocols, func(p string) bool { return slices.Contains(offered, p) }) {
		http.Error(w, fmt.Sprintf("unsupported WebSocket subprotocol %q; this endpoint speaks %q", offered, rt.Subprotocols),
			http.StatusBadRequest)
		return
	}
	up := websocket.Upgrader{Subprotocols: rt.Subprotocols, CheckOrigin: s.checkOrigin,
		HandshakeTimeout: 10 * time.Second}
	wsc, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("ws: upgrade failed", "remote", r.RemoteAddr, "err", err) // Upgrade answered the client
		return
	}
	c := Wrap(wsc, rt.Text)
	if !s.track(c) {
		_ = c.Close()
		return
	}
	defer s.untrack(c)
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("ws: panic serving connection", "remote", r.RemoteAddr, "panic", v, "stack", string(debug.Stack()))
		}
		_ = c.Close()
	}()
	rt.Serve(c)
}

// checkOrigin applies Config.AllowedOrigins.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.cfg.AllowedOrigins) == 0 {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	s.log.Info("ws: origin refused", "origin", origin, "remote", r.RemoteAddr)
	return false
}

func (s *Server) track(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}
