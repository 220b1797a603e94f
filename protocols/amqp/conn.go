package amqp

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// conn is one client connection. The reader goroutine (the one running
// serve) owns the protocol state: the channels, their content assembly and
// the connection's lifecycle. The writer goroutine owns the socket's write
// side. mu guards what other goroutines touch: the send buffer, the flow
// state, and each channel's confirm and consumer state.
type conn struct {
	srv *Server
	b   *core.Broker
	nc  net.Conn
	log *slog.Logger
	br  *bufio.Reader
	fr  *wire.FrameReader

	// Negotiated during the handshake, before the writer starts; read-only
	// after it.
	frameMax   uint32
	channelMax uint16
	heartbeat  time.Duration
	caps       capabilities
	user       string
	vhost      string
	core       *core.Connection

	channels map[uint16]*channel // reader only
	closing  bool                // reader only: connection.close sent, waiting for close-ok

	mu         sync.Mutex
	out        outbound
	flow       flowState
	wake       chan struct{} // capacity 1: wakes the writer
	writerDone chan struct{}
	hbTimer    *time.Timer
	hbStopped  bool          // the heartbeat monitor must not rearm
	closeSent  bool          // connection.close was sent (by the reader or Shutdown)
	forced     chan struct{} // closed by Shutdown's forceClose

	flowQuiet  atomic.Bool   // see updateQuietLocked
	received   atomic.Uint64 // frames read, for the heartbeat monitor
	readPaused atomic.Bool   // the reader is held on purpose: no heartbeat timeout
}

// capabilities are the client's, from start-ok's client-properties.
type capabilities struct {
	blocked          bool // connection.blocked
	cancelNotify     bool // consumer_cancel_notify
	authFailureClose bool // authentication_failure_close
}

// readBufferSize is the socket read buffer: large enough that a busy
// publisher's frames are read many at a time, small enough for idle
// connections to cost little.
const readBufferSize = 32 << 10

func newConn(s *Server, nc net.Conn, log *slog.Logger) *conn {
	c := &conn{srv: s, b: s.b, nc: nc, log: log, channels: make(map[uint16]*channel),
		wake: make(chan struct{}, 1), writerDone: make(chan struct{}), forced: make(chan struct{})}
	c.br = bufio.NewReaderSize(nc, readBufferSize)
	c.fr = wire.NewFrameReader(c.br, wire.FrameMinSize)
	return c
}

// serve runs the connection on the calling goroutine until it ends.
func (c *conn) serve() {
	if err := c.handshake(); err != nil {
		c.log.Debug("handshake failed", "err", err)
		c.mu.Lock()
		c.out.dead = true
		c.mu.Unlock()
		return
	}
	go c.writeLoop()
	if c.heartbeat > 0 {
		c.watchHeartbeats()
	}
	err := c.readLoop()
	c.cleanup(err)
}

// readLoop reads and handles frames until the connection ends: nil after a
// clean close, else why it ended.
func (c *conn) readLoop() error {
	for n := 0; ; n++ {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var we *wire.Error
			if errors.As(err, &we) && !c.closing {
				// AMQP 0-9-1 §2.3.5: a malformed frame leaves the stream out of
				// step; report it and read no further.
				c.sendConnectionClose(&amqpError{code: we.Code, text: we.Reason})
				c.lingerAfterClose()
			}
			return err
		}
		c.received.Add(1)
		if !c.closing && c.wasForced() {
			c.closing = true
		}
		if c.closing {
			if done := c.handleFrameWhileClosing(f); done {
				return nil
			}
			continue
		}
		done, err := c.handleFrame(f)
		if err != nil {
			c.raise(f.Channel, err)
		}
		if done {
			return nil
		}
		if n%32 == 0 { // the bound is loose: no need to look at every frame
			c.waitDrained()
		}
	}
}

// raise turns an error from a handler into a channel or connection
// exception.
func (c *conn) raise(chID uint16, err error) {
	ae := fromCore(err, nil)
	if ch := c.channels[chID]; ch != nil && chID != 0 && !ae.hard() {
		ch.closeWithError(ae)
		return
	}
	c.logClient(slog.LevelInfo, "closing connection with an error", "code", ae.code, "text", ae.text)
	c.sendConnectionClose(ae)
}

// handleFrame dispatches one frame. done reports that the connection has
// been closed cleanly and the reader should stop.
func (c *conn) handleFrame(f wire.Frame) (done bool, err error) {
	if f.Type == wire.FrameHeartbeat {
		return false, nil
	}
	if f.Channel == 0 {
		if f.Type != wire.FrameMethod {
			return false, errorf(wire.ReplyUnexpectedFrame, "frame of type %d on channel 0", f.Type)
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return false, err
		}
		return c.handleConnectionMethod(m)
	}
	if f.Channel > c.channelMax {
		return false, errorf(wire.ReplyChannelError, "channel %d is above the negotiated channel_max %d", f.Channel, c.channelMax)
	}
	ch := c.channels[f.Channel]
	if ch == nil {
		return false, c.openChannel(f)
	}
	return false, ch.handleFrame(f)
}

// handleFrameWhileClosing handles a frame after connection.close was sent:
// AMQP 0-9-1 §2.2.4, only connection.close and close-ok count now.
func (c *conn) handleFrameWhileClosing(f wire.Frame) (done bool) {
	if f.Channel != 0 || f.Type != wire.FrameMethod {
		return false
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return false
	}
	switch m.(type) {
	case *wire.ConnectionCloseOk:
		return true
	case *wire.ConnectionClose:
		c.send(0, &wire.ConnectionCloseOk{})
		return true
	}
	return false
}

// closingTimeout bounds the wait for connection.close-ok: the heartbeat
// interval capped at 30 seconds, or 3 seconds, as RabbitMQ's reader.
func (c *conn) closingTimeout() time.Duration {
	if c.heartbeat > 0 && c.heartbeat < 30*time.Second {
		return max(c.heartbeat, 3*time.Second)
	}
	return 30 * time.Second
}

// sendConnectionClose sends connection.close with e and waits for the
// client's close-ok from then on; the reader gives up after closingTimeout.
func (c *conn) sendConnectionClose(e *amqpError) {
	c.mu.Lock()
	if !c.closeSent {
		c.closeSent = true
		c.sendLocked(0, &wire.ConnectionClose{ReplyCode: e.code, ReplyText: replyText(e.code, e.text),
			FailingClassID: e.classID, FailingMethodID: e.methodID})
	}
	c.mu.Unlock()
	c.closing = true
	_ = c.nc.SetReadDeadline(time.Now().Add(c.closingTimeout()))
}

// forceClose is Shutdown's: from another goroutine, send connection.close
// 320 CONNECTION_FORCED; the reader then waits for close-ok as usual, and the
// read deadline ends it if none comes.
func (c *conn) forceClose(reason string) {
	c.mu.Lock()
	if c.core == nil {
		c.mu.Unlock()
		c.nc.Close() // still in the handshake: nothing to be polite about
		return
	}
	if c.closeSent {
		c.mu.Unlock()
		return // closing already; the reader's deadline ends it
	}
	c.closeSent = true
	c.sendLocked(0, &wire.ConnectionClose{ReplyCode: wire.ReplyConnectionForced,
		ReplyText: replyText(wire.ReplyConnectionForced, reason)})
	c.mu.Unlock()
	// The reader may be waiting for a frame that never comes; wake it no
	// later than the closing timeout. Frames it reads until then are
	// handled, as a client may still be finishing work before its close-ok.
	_ = c.nc.SetReadDeadline(time.Now().Add(c.closingTimeout()))
	close(c.forced)
}

func (c *conn) wasForced() bool {
	select {
	case <-c.forced:
		return true
	default:
		return false
	}
}

// lingerAfterClose gives the client a moment to read a connection.close
// sent after a frame error, when nothing more can be read: it flushes and
// half-closes, then discards what arrives until EOF or a short deadline, so
// the close frame is not lost to a TCP reset.
func (c *conn) lingerAfterClose() {
	c.finish()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, c.br)
}

// cleanup ends the connection: its channels' sessions (requeueing what they
// had unsettled), the core connection (deleting exclusive queues), the
// heartbeat monitor and the writer.
func (c *conn) cleanup(err error) {
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("connection ended", "err", err)
	}
	for id, ch := range c.channels {
		ch.release()
		delete(c.channels, id)
	}
	if c.core != nil {
		c.core.Close()
	}
	c.mu.Lock()
	c.hbStopped = true
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	c.mu.Unlock()
	c.finish()
}
