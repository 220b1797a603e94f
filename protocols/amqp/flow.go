package amqp

import "github.com/mqgate/mqgate/protocols/amqp/wire"

// Memory-based flow control (RabbitMQ's connection.blocked extension).
// When core's memory watermark is crossed, the reader stops at the next
// basic.publish until the alarm clears; a client that advertised the
// connection.blocked capability and has published is told with
// connection.blocked / connection.unblocked. Consumers go on: draining
// queues is how memory comes back.

// blockedReason is the reason RabbitMQ gives for its memory alarm.
const blockedReason = "low on memory"

// flowState is guarded by conn.mu.
type flowState struct {
	blocked   bool
	published bool          // the connection has published: it gets notifications
	notified  bool          // connection.blocked was sent and not yet undone
	unblocked chan struct{} // closed when the alarm clears; nil while not blocked
}

// updateQuietLocked keeps conn.flowQuiet, the reader's lock-free fast path
// for publishes: it has published and nothing blocks it.
func (c *conn) updateQuietLocked() {
	c.flowQuiet.Store(c.flow.published && !c.flow.blocked)
}

// setBlocked is core's ConnectOptions.Blocked callback. It may run on any
// goroutine, even inside Connect, and must not block.
func (c *conn) setBlocked(blocked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := &c.flow
	if f.blocked == blocked {
		return
	}
	f.blocked = blocked
	c.updateQuietLocked()
	if blocked {
		f.unblocked = make(chan struct{})
		if f.published {
			c.notifyBlockedLocked()
		}
		return
	}
	close(f.unblocked)
	f.unblocked = nil
	if f.notified {
		f.notified = false
		c.sendLocked(0, &wire.ConnectionUnblocked{})
	}
}

func (c *conn) notifyBlockedLocked() {
	if c.caps.blocked && !c.flow.notified {
		c.flow.notified = true
		c.sendLocked(0, &wire.ConnectionBlocked{Reason: blockedReason})
	}
}

// waitUnblocked is called by the reader before it handles a publish: while
// the broker is blocked it waits (the socket is not read, so TCP pushes back
// on the client), as RabbitMQ's reader blocks. A forced close ends the wait.
func (c *conn) waitUnblocked() {
	if c.flowQuiet.Load() {
		return
	}
	c.mu.Lock()
	if !c.flow.published {
		c.flow.published = true
		c.updateQuietLocked()
		if c.flow.blocked {
			c.notifyBlockedLocked()
		}
	}
	ch := c.flow.unblocked
	c.mu.Unlock()
	if ch == nil {
		return
	}
	c.readPaused.Store(true)
	defer c.readPaused.Store(false)
	select {
	case <-ch:
	case <-c.forced:
	case <-c.writerDone:
	}
}
