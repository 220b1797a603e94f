package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// Server is the MQTT front-end: mochi-mqtt reads and writes the packets,
// runs the handshakes, keep-alive and session takeover; the core engine owns
// routing, queues and storage. Every door (mqtt, mqtts, web_mqtt) of one
// gateway serves its connections through the same Server, so that a client
// identifier is one session whichever door it comes through.
type Server struct {
	cfg      Config
	b        *core.Broker
	log      *slog.Logger
	mochi    *mochi.Server
	retained *retainStore
	workers  *workers
	flow     flowGate

	conns sync.Map // net.Conn → *conn, from CONNECT to disconnection

	lastTopic atomic.Pointer[topicOfKey] // the topic of the last routing key delivered (deliver.go)

	mu       sync.Mutex
	sessions map[string]*session // by session key
	shared   map[string]int      // members of each shared subscription queue, by vhost NUL queue
	closed   bool
	done     chan struct{} // closed by Shutdown
	wg       sync.WaitGroup

	shutdownOnce sync.Once
	stats        counters
}

// counters are the front-end's metrics.
type counters struct {
	qos0Dropped atomic.Int64
	received    atomic.Int64
	delivered   atomic.Int64
}

// Stats is a snapshot of the front-end's metrics.
type Stats struct {
	Connections int
	Sessions    int
	Retained    int
	// QoS0Dropped counts QoS 0 messages dropped because a client read
	// slower than they came (Config.QoS0Buffer). No QoS 1 or 2 message is
	// ever dropped: those wait in the session's queue.
	QoS0Dropped int64
	Received    int64 // PUBLISH packets accepted from clients
	Delivered   int64 // PUBLISH packets written to clients
}

// New returns the MQTT front-end for broker b. It reads the persistent
// sessions and retained messages back from the broker's store; a record it
// cannot read is logged and skipped.
func New(cfg Config, b *core.Broker, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: b, log: log, retained: newRetainStore(b), sessions: map[string]*session{},
		shared: map[string]int{}, done: make(chan struct{}), workers: newWorkers()}
	caps := mochi.NewDefaultServerCapabilities()
	// Deliveries are written by this package, never through mochi's
	// outbound channel, which would drop QoS 1 and 2 messages when full.
	caps.MaximumClientWritesPending = 1
	caps.MaximumSessionExpiryInterval = cfg.sessionExpiryCap()
	caps.MaximumPacketSize = cfg.MaxPacketSize
	caps.ReceiveMaximum = cfg.ReceiveMaximum
	caps.TopicAliasMaximum = cfg.TopicAliasMaximum
	caps.MaximumMessageExpiryInterval = 0 // core expires messages
	// PUBACK and PUBREC must not echo the publish's user properties.
	caps.Compatibilities.NoInheritedPropertiesOnAck = true
	s.mochi = mochi.New(&mochi.Options{Capabilities: caps, Logger: slog.New(mochiLog{log.Handler()}).With("component", "mochi"),
		SysTopicResendInterval: 1 << 30,
		// mochi's reader is not used (receive.go): the smallest buffer.
		ClientNetReadBufferSize: 16})
	if err := s.mochi.AddHook(&hook{s: s}, nil); err != nil {
		log.Error("mqtt: add hook", "err", err) // cannot happen: the hook's Init accepts anything
	}
	if err := s.retained.load(); err != nil {
		log.Error("mqtt: read retained messages", "err", err)
	}
	if err := s.loadSessions(); err != nil {
		log.Error("mqtt: read persistent sessions", "err", err)
	}
	return s
}

// Door returns the front-end of one gateway door: ServeConn and Shutdown.
func (s *Server) Door(listener string) *Door { return &Door{s: s, listener: listener} }

// Door is the Server as one gateway door sees it.
type Door struct {
	s        *Server
	listener string
}

// ServeConn serves one connection of this door.
func (d *Door) ServeConn(c net.Conn) { d.s.ServeConn(d.listener, c) }

// Server returns the Server behind the door.
func (d *Door) Server() *Server { return d.s }

// Shutdown shuts the whole Server down (every door shares it).
func (d *Door) Shutdown(ctx context.Context) error { return d.s.Shutdown(ctx) }

// Shutdown disconnects every client (MQTT 5 clients get DISCONNECT 0x8B,
// server shutting down), without publishing their wills, and waits until
// their connections have ended or ctx is done. Persistent sessions stay in
// the store. It may be called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		s.mu.Unlock()
		s.conns.Range(func(_, v any) bool {
			c := v.(*conn)
			c.shutdown.Store(true)
			// A client that does not read must not hold the shutdown up.
			_ = c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			if c.v5 {
				_ = s.mochi.DisconnectClient(c.cl, packets.ErrServerShuttingDown)
			} else {
				c.cl.Stop(packets.ErrServerShuttingDown)
			}
			return true
		})
	})
	waited := make(chan struct{})
	go func() {
		s.wg.Wait()
		s.workers.close() // every connection has ended: the workers are idle
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("mqtt: shutdown: %w", ctx.Err())
	}
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.stopTimers()
	}
	return nil
}

// Stats returns the front-end's metrics.
func (s *Server) Stats() Stats {
	st := Stats{Retained: s.retained.len(), QoS0Dropped: s.stats.qos0Dropped.Load(),
		Received: s.stats.received.Load(), Delivered: s.stats.delivered.Load()}
	s.conns.Range(func(_, _ any) bool { st.Connections++; return true })
	s.mu.Lock()
	st.Sessions = len(s.sessions)
	s.mu.Unlock()
	return st
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// connOf returns the connection state of mochi client cl.
func (s *Server) connOf(nc net.Conn) *conn {
	if nc == nil {
		return nil
	}
	v, ok := s.conns.Load(nc)
	if !ok {
		return nil
	}
	return v.(*conn)
}

// forgetClient removes cl from mochi's client list if it is still there: a
// persistent session lives on in this package, not in mochi, so that mochi
// never resends or drops in-flight messages of its own.
func (s *Server) forgetClient(cl *mochi.Client) {
	if cur, ok := s.mochi.Clients.Get(cl.ID); ok && cur == cl {
		s.mochi.Clients.Delete(cl.ID)
	}
}

// loadSessions brings back the persistent sessions of the store, offline,
// with their expiry timers running from their disconnection.
func (s *Server) loadSessions() error {
	now := time.Now()
	return s.b.Records(store.KindSession, func(key string, v []byte) error {
		r, err := decodeSessionRecord(v)
		if err != nil {
			s.log.Error("mqtt: skipping unreadable session record", "key", key, "err", err)
			return nil
		}
		ss := newSession(s, key, r.VHost, r.ClientID)
		ss.restore(r)
		s.sessions[key] = ss
		for _, sub := range ss.subs {
			if sub.group != "" {
				s.shared[sharedKey(ss.vhost, sub.queue)]++
			}
		}
		disconnected := time.UnixMilli(r.Disconnected)
		if r.Disconnected == 0 || disconnected.After(now) {
			disconnected = now
		}
		ss.offlineSince = disconnected.UnixMilli()
		if ss.will != nil {
			ss.armWill(time.Duration(min(ss.will.delay, r.Expiry))*time.Second - now.Sub(disconnected))
		}
		ss.armExpiry(time.Duration(r.Expiry)*time.Second - now.Sub(disconnected))
		return nil
	})
}

// flowGate stops publishers while the broker is over its memory watermark.
type flowGate struct {
	mu sync.Mutex
	ch chan struct{} // open while blocked
}

func (g *flowGate) set(blocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case blocked && g.ch == nil:
		g.ch = make(chan struct{})
	case !blocked && g.ch != nil:
		close(g.ch)
		g.ch = nil
	}
}

// wait returns once publishing may go on, or done is closed. Waiting stops
// the connection's reads, which is MQTT's only way to push back.
// before runs first if it has to wait.
func (g *flowGate) wait(done <-chan struct{}, before func()) {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch == nil {
		return
	}
	before()
	select {
	case <-ch:
	case <-done:
	}
}
