package httpconn

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// watchContext is a request's context. The first call to Done (or Err)
// makes it cancellable and starts the watch that cancels it if the client
// closes the connection: a handler waits on Done only when it is about to
// block (an SQS long poll with no message ready), so a request answered at
// once pays for neither the cancellable context nor the read ahead, which
// net/http's server makes for every request. Done must be called on the
// handler's goroutine, as a wait on it is.
type watchContext struct {
	context.Context // the server's base context, until started
	w               *watch
	once            sync.Once
	started         atomic.Bool
	ctx             context.Context // base's child, once started
	cancel          context.CancelFunc
}

func (c *watchContext) start() {
	c.ctx, c.cancel = context.WithCancel(c.Context)
	c.w.start(c.cancel)
	c.started.Store(true)
}

func (c *watchContext) Done() <-chan struct{} {
	c.once.Do(c.start)
	return c.ctx.Done()
}

func (c *watchContext) Err() error {
	if !c.started.Load() {
		return c.Context.Err()
	}
	return c.ctx.Err()
}

// release frees the cancellable context after the handler returned.
func (c *watchContext) release() {
	if c.started.Load() {
		c.cancel()
	}
}

// watch reads one byte ahead on an idle connection while its handler
// waits. An error means the client closed or reset the connection: the
// request's context is cancelled and the connection closed after the
// handler. A byte is the start of a pipelined request and is handed back to
// the reader.
type watch struct {
	c       *conn
	body    *body
	started bool
	done    chan struct{}
	err     error // the read's, once done is closed
	aborted bool  // set by stop before it interrupts the read
	mu      sync.Mutex
}

// start begins the read ahead, on the handler's goroutine (ServeHTTP's, so
// it does not race with the handler's own reads of the body). It does
// nothing while the body is unread or request bytes are buffered: the
// connection then has data of its own, and reading ahead would take it.
func (w *watch) start(cancel context.CancelFunc) {
	if !w.body.eof || w.c.br.Buffered() > 0 || w.c.src.hasAhead {
		return
	}
	w.started = true
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		n, err := w.c.nc.Read(w.c.src.ahead[:])
		if n == 1 {
			w.c.src.hasAhead = true
			return
		}
		w.mu.Lock()
		aborted := w.aborted
		w.mu.Unlock()
		if aborted && errors.Is(err, os.ErrDeadlineExceeded) {
			return // stop's own interruption
		}
		w.err = err
		cancel()
	}()
}

// stop ends the read ahead after the handler returned, and reports whether
// it found the client gone.
func (w *watch) stop() (clientGone bool) {
	if !w.started {
		return false
	}
	w.mu.Lock()
	w.aborted = true
	w.mu.Unlock()
	_ = w.c.nc.SetReadDeadline(aLongTimeAgo)
	<-w.done
	_ = w.c.nc.SetReadDeadline(time.Time{})
	return w.err != nil
}

// aLongTimeAgo is a deadline in the past, which interrupts a read at once.
var aLongTimeAgo = time.Unix(1, 0)
