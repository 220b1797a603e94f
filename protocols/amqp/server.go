package amqp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// ErrServerClosed is returned by Serve after Shutdown, as http.ErrServerClosed.
var ErrServerClosed = errors.New("amqp: server closed")

// Config tunes the AMQP 0-9-1 server. The zero value of every field is
// replaced by RabbitMQ's default (see Default).
type Config struct {
	// FrameMax is the largest frame the server accepts and proposes in
	// connection.tune, header and frame-end included (RabbitMQ frame_max).
	FrameMax uint32
	// ChannelMax is the highest channel number a connection may use
	// (RabbitMQ channel_max).
	ChannelMax uint16
	// Heartbeat is the interval proposed in connection.tune; the client's
	// answer in tune-ok wins, and 0 there disables heartbeats (RabbitMQ
	// heartbeat). Set it negative to propose 0.
	Heartbeat time.Duration
	// HandshakeTimeout bounds the time from accepting a connection to
	// connection.open (RabbitMQ handshake_timeout).
	HandshakeTimeout time.Duration
	// MaxMessageSize is the largest message body accepted; a larger one is a
	// 406 channel error (RabbitMQ max_message_size, 3.13's default).
	MaxMessageSize uint64
	// MaxTxBytes bounds the message bytes a transactional channel holds
	// until tx.commit; a publish past it is a 506 RESOURCE_ERROR.
	MaxTxBytes uint64
	// Product and Version are the server properties of those names in
	// connection.start.
	Product string
	Version string
}

// Defaults, RabbitMQ's.
const (
	DefaultFrameMax         = 131072
	DefaultChannelMax       = 2047
	DefaultHeartbeat        = 60 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxMessageSize   = 128 << 20
	DefaultMaxTxBytes       = 128 << 20
)

func (c Config) withDefaults() Config {
	if c.FrameMax == 0 {
		c.FrameMax = DefaultFrameMax
	}
	c.FrameMax = max(c.FrameMax, wire.FrameMinSize)
	if c.ChannelMax == 0 {
		c.ChannelMax = DefaultChannelMax
	}
	switch {
	case c.Heartbeat == 0:
		c.Heartbeat = DefaultHeartbeat
	case c.Heartbeat < 0:
		c.Heartbeat = 0
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxTxBytes == 0 {
		c.MaxTxBytes = DefaultMaxTxBytes
	}
	if c.Product == "" {
		c.Product = "mqgate"
	}
	if c.Version == "" {
		c.Version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			c.Version = bi.Main.Version
		}
	}
	return c
}

// Server is the AMQP 0-9-1 front-end: it serves connections into a
// core.Broker. Create it with New.
type Server struct {
	cfg     Config
	b       *core.Broker
	log     *slog.Logger
	props   core.Table // connection.start server-properties
	replies replyRegistry
	connSeq atomic.Uint64

	clientLogs logLimiter

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool
	idle     chan struct{} // closed when shutdown and the last connection ended
}

// New returns a server of broker b. A nil log discards the log.
func New(cfg Config, b *core.Broker, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, b: b, log: log, conns: make(map[*conn]struct{})}
	s.props = serverProperties(cfg)
	s.replies.init()
	return s
}

// serverProperties are connection.start's server-properties: the keys and
// capabilities RabbitMQ sends (rabbit_reader:server_properties), so clients
// that test them enable the same features.
func serverProperties(cfg Config) core.Table {
	return core.Table{
		"product":     cfg.Product,
		"version":     cfg.Version,
		"platform":    "Go",
		"copyright":   "Copyright (c) the mqgate authors",
		"information": "mqgate: AMQP 0-9-1, MQTT, STOMP, SQS and SNS on one engine",
		"capabilities": core.Table{
			"publisher_confirms":           true,
			"exchange_exchange_bindings":   true,
			"basic.nack":                   true,
			"consumer_cancel_notify":       true,
			"connection.blocked":           true,
			"consumer_priorities":          true,
			"authentication_failure_close": true,
			"per_consumer_qos":             true,
			"direct_reply_to":              true,
		},
	}
}

// Serve accepts connections on ln and serves each in its own goroutine until
// Shutdown, after which it returns ErrServerClosed. A temporary accept error
// is retried after a growing delay, as in net/http.
func (s *Server) Serve(ln net.Listener) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closed() {
				return ErrServerClosed
			}
			var temp interface{ Temporary() bool }
			if errors.As(err, &temp) && temp.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		go s.ServeConn(nc)
	}
}

func (s *Server) closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// ServeConn serves one client connection until it ends; it closes nc. It is
// safe to call from many goroutines; after Shutdown it closes nc at once.
func (s *Server) ServeConn(nc net.Conn) {
	id := s.connSeq.Add(1)
	c := newConn(s, nc, s.log.With("proto", "amqp", "conn", id, "remote", remoteString(nc)))
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.conns, c)
		if s.shutdown && len(s.conns) == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
	}()
	c.serve()
}

func remoteString(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Shutdown refuses new connections, asks every open one to close with
// connection.close 320 CONNECTION_FORCED (as RabbitMQ does when it stops) and
// waits until they have ended or ctx is done; then it closes the sockets of
// those that remain and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	var idle chan struct{}
	if len(s.conns) > 0 {
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle = s.idle
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.forceClose("broker forced connection closure with reason 'shutdown'")
	}
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}
