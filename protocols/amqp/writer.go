package amqp

import (
	"log/slog"
	"time"

	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// Outbound buffering (DESIGN §4 rules 1, 3 and 4). Everything a connection
// sends is appended to out.buf under out.mu by whichever goroutine produces
// it (the reader for replies, core's dispatchers for deliveries, the store's
// committer for confirms), and the writer goroutine, the only one that
// touches the socket, takes the whole buffer and writes it at once: frames
// produced while a write is in progress are coalesced into the next one, and
// publisher confirms are collected just before each write, so a burst of
// confirms becomes one basic.ack with multiple set.

const (
	// deliveryHighWater is the buffered size above which consumers' sinks
	// refuse deliveries; the messages stay in their queues (credit flow, as
	// RabbitMQ's between queue, channel and writer). Refused consumers are
	// resumed once the writer has drained the buffer.
	deliveryHighWater = 1 << 20
	// readerHighWater is the buffered size above which the reader stops
	// reading until the writer catches up: a client that sends requests but
	// does not read replies is throttled by TCP, not by our memory.
	readerHighWater = 8 << 20
	// finalWriteTimeout bounds the last flush of a closing connection.
	finalWriteTimeout = 5 * time.Second
)

// outbound is a connection's send buffer; all fields are guarded by
// conn.mu.
type outbound struct {
	buf     []byte
	spare   []byte
	dirty   []*channel    // channels with confirms to send
	paused  []*consumer   // consumers refused for a full buffer
	ending  bool          // flush what is buffered, then stop
	dead    bool          // the socket failed or was closed: drop everything
	drained chan struct{} // closed when buf empties; waited on by a throttled reader
}

// canSendLocked reports whether the connection still sends. The caller
// holds c.mu.
func (c *conn) canSendLocked() bool { return !c.out.dead && !c.out.ending }

// appendLocked appends encoded frames to the buffer and wakes the writer.
// The caller holds c.mu. It reports false when the connection can send no
// more.
func (c *conn) appendLocked(frames ...[]byte) bool {
	if !c.canSendLocked() {
		return false
	}
	for _, f := range frames {
		c.out.buf = append(c.out.buf, f...)
	}
	c.wakeWriter()
	return true
}

func (c *conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// send appends one method frame on channel ch.
func (c *conn) send(ch uint16, m wire.Method) {
	c.mu.Lock()
	c.sendLocked(ch, m)
	c.mu.Unlock()
}

func (c *conn) sendLocked(ch uint16, m wire.Method) {
	if !c.canSendLocked() {
		return
	}
	out, err := wire.AppendMethodFrame(c.out.buf, ch, m)
	if err != nil {
		c.log.Error("cannot encode method", "method", m.Name(), "err", err)
		return
	}
	c.out.buf = out
	c.wakeWriter()
}

// sendContentLocked appends a content-carrying method with its header and
// body. It reports false if nothing was appended.
func (c *conn) sendContentLocked(ch uint16, m wire.Method, p *wire.Properties, body []byte) bool {
	if !c.canSendLocked() {
		return false
	}
	out, err := wire.AppendContent(c.out.buf, ch, m, p, body, c.frameMax)
	if err != nil {
		c.log.Error("cannot encode content", "method", m.Name(), "err", err)
		return false
	}
	c.out.buf = out
	c.wakeWriter()
	return true
}

// writeLoop is the writer goroutine. It owns the socket's write side and
// sends a heartbeat when nothing else was sent for half the interval (AMQP
// 0-9-1 §4.2.7; the other half of heartbeating is conn.watchHeartbeats).
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	var tick <-chan time.Time
	if c.heartbeat > 0 {
		t := time.NewTicker(c.heartbeat / 2)
		defer t.Stop()
		tick = t.C
	}
	var (
		wrote bool // since the last tick
		buf   []byte
	)
	for {
		select {
		case <-c.wake:
		case <-tick:
			if !wrote {
				c.mu.Lock()
				if !c.out.dead {
					c.out.buf = wire.AppendHeartbeatFrame(c.out.buf)
				}
				c.mu.Unlock()
			}
			wrote = false
		}
		c.mu.Lock()
		for _, ch := range c.out.dirty {
			c.out.buf = ch.appendConfirmsLocked(c.out.buf)
		}
		clear(c.out.dirty)
		c.out.dirty = c.out.dirty[:0]
		buf, c.out.buf, c.out.spare = c.out.buf, c.out.spare[:0], nil
		ending, dead := c.out.ending, c.out.dead
		c.mu.Unlock()
		if len(buf) > 0 && !dead {
			if _, err := c.nc.Write(buf); err != nil {
				c.log.Debug("write failed", "err", err)
				c.kill()
				dead = true
			}
			wrote = true
		}
		if cap(buf) > 4*deliveryHighWater {
			buf = nil // do not keep a burst's buffer for the connection's life
		}
		c.mu.Lock()
		c.out.spare = buf[:0]
		if dead || (ending && len(c.out.buf) == 0) {
			c.out.dead = true
			c.out.paused = nil
			c.mu.Unlock()
			return
		}
		var resume []*consumer
		if len(c.out.buf) == 0 {
			if c.out.drained != nil {
				close(c.out.drained)
				c.out.drained = nil
			}
			for _, s := range c.out.paused {
				if s.refused {
					s.refused = false
					resume = append(resume, s)
				}
			}
			clear(c.out.paused)
			c.out.paused = c.out.paused[:0]
		}
		c.mu.Unlock()
		// Outside the lock: Resume dispatches, which calls sinks, which
		// take c.mu.
		resumeAll(resume)
	}
}

// watchHeartbeats closes the connection when the client sent nothing for
// two heartbeat intervals (AMQP 0-9-1 §4.2.7). It runs on a runtime timer,
// not a goroutine, and pauses while the reader is held (blocked publishers,
// a full send buffer), as RabbitMQ pauses its monitor.
func (c *conn) watchHeartbeats() {
	var last uint64
	quiet := 0
	var check func()
	check = func() {
		if n := c.received.Load(); n != last || c.readPaused.Load() {
			last, quiet = n, 0
		} else if quiet++; quiet >= 2 {
			c.logClient(slog.LevelWarn, "missed heartbeats from client, closing the connection", "timeout", c.heartbeat)
			c.kill()
			return
		}
		c.mu.Lock()
		if !c.hbStopped {
			c.hbTimer = time.AfterFunc(c.heartbeat, check)
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.hbTimer = time.AfterFunc(c.heartbeat, check)
	c.mu.Unlock()
}

// waitDrained blocks the reader while the send buffer is over
// readerHighWater, until the writer has emptied it or the connection died.
func (c *conn) waitDrained() {
	c.mu.Lock()
	if len(c.out.buf) < readerHighWater || c.out.dead {
		c.mu.Unlock()
		return
	}
	if c.out.drained == nil {
		c.out.drained = make(chan struct{})
	}
	ch := c.out.drained
	c.mu.Unlock()
	c.readPaused.Store(true)
	<-ch
	c.readPaused.Store(false)
}

// finish makes the writer flush what is buffered and stop, and waits for it.
func (c *conn) finish() {
	c.mu.Lock()
	c.out.ending = true
	c.wakeWriter()
	c.mu.Unlock()
	// Bounds a write in progress too, should the client have stopped
	// reading.
	_ = c.nc.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
	<-c.writerDone
}

// kill closes the socket: the reader's next read fails and the writer
// stops. Safe to call from any goroutine, more than once.
func (c *conn) kill() {
	c.mu.Lock()
	c.out.dead = true
	c.wakeWriter()
	if c.out.drained != nil {
		close(c.out.drained)
		c.out.drained = nil
	}
	c.mu.Unlock()
	c.nc.Close()
}
