package httpconn

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// watchContext is a request's context. The first call to Done makes it
// cancellable and starts the watch that cancels it if the client closes the
// connection: a handler waits on Done only when it is about to block (an SQS
// long poll with no message ready), so a request answered at once pays for
// neither the cancellable context nor the read ahead, which net/http's
// server makes for every request. Like net/http's, the context is cancelled
// when the handler returns.
//
// Done must be first called on the handler's goroutine, as a wait on it is:
// the watch checks that the request's bytes have all been read.
type watchContext struct {
	context.Context // the server's base context
	w               *watch
	once            sync.Once
	made            atomic.Bool     // ctx and cancel are set
	ctx             context.Context // what Done and Err answer once made
	cancel          context.CancelFunc
}

// begin is the first Done's: a cancellable child of the base context, and
// the watch, unless the request is over already (the context then ends now).
func (c *watchContext) begin() {
	c.ctx, c.cancel = context.WithCancel(c.Context)
	if !c.w.start(c.cancel) {
		c.cancel()
	}
	c.made.Store(true)
}

// ended is release's when no Done came first: a context already cancelled,
// without the cost of making one per request.
func (c *watchContext) ended() {
	c.ctx, c.cancel = cancelled, func() {}
	c.made.Store(true)
}

func (c *watchContext) Done() <-chan struct{} {
	c.once.Do(c.begin)
	return c.ctx.Done()
}

func (c *watchContext) Err() error {
	if !c.made.Load() {
		return c.Context.Err()
	}
	return c.ctx.Err()
}

// release ends the request's context after its handler returned. It
// reports whether the watch found the client gone.
func (c *watchContext) release() (clientGone bool) {
	clientGone = c.w.stop()
	c.once.Do(c.ended)
	c.cancel()
	return clientGone
}

// cancelled is the context of a request over before anything waited on it.
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// watch reads one byte ahead on an idle connection while its handler
// waits. An error means the client closed or reset the connection: the
// request's context is cancelled and the connection closed after the
// handler. A byte is the start of a pipelined request and is handed back to
// the connection's reader.
type watch struct {
	c    *conn
	body *body

	mu       sync.Mutex
	over     bool // the handler returned: no watch may start
	started  bool
	aborting bool // stop is interrupting the read
	done     chan struct{}
	err      error // the read's, once done is closed
}

// start begins the read ahead, unless the request is over (it then reports
// false). It reads nothing while the body is unread or request bytes are
// buffered: the connection has data of its own then, and reading ahead
// would take it.
func (w *watch) start(cancel context.CancelFunc) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over {
		return false
	}
	if !w.body.eof || w.c.br.Buffered() > 0 || w.c.src.hasAhead {
		return true
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
		aborting := w.aborting
		w.mu.Unlock()
		if aborting && errors.Is(err, os.ErrDeadlineExceeded) {
			return // stop's own interruption
		}
		w.err = err
		cancel()
	}()
	return true
}

// stop ends the read ahead once the handler returned, and reports whether
// it found the client gone.
func (w *watch) stop() (clientGone bool) {
	w.mu.Lock()
	w.over = true
	started := w.started
	w.aborting = true
	w.mu.Unlock()
	if !started {
		return false
	}
	_ = w.c.nc.SetReadDeadline(aLongTimeAgo)
	<-w.done
	_ = w.c.nc.SetReadDeadline(time.Time{})
	return w.err != nil
}

// aLongTimeAgo is a deadline in the past, which interrupts a read at once.
var aLongTimeAgo = time.Unix(1, 0)
