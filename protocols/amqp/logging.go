package amqp

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Clients can make the server log (refused logins, protocol errors, missed
// heartbeats); those lines are rate-limited per server so that a
// misbehaving or hostile client cannot flood the log (STYLE.md).

// clientLogBurst is how many such lines a second may carry.
const clientLogBurst = 20

type logLimiter struct {
	mu      sync.Mutex
	window  time.Time // start of the current second
	n       int       // lines logged in it
	dropped int       // lines dropped since the last one logged
}

// allow reports whether a line may be logged now and how many were dropped
// before it.
func (l *logLimiter) allow(now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= clientLogBurst {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// logClient logs a line a client caused, rate-limited.
func (c *conn) logClient(level slog.Level, msg string, args ...any) {
	ok, dropped := c.srv.clientLogs.allow(time.Now())
	if !ok {
		return
	}
	if dropped > 0 {
		c.srv.log.Warn("client-caused log lines dropped", "proto", "amqp", "dropped", dropped)
	}
	c.log.Log(context.Background(), level, msg, args...)
}
