package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// ErrClosed is returned by Start after Shutdown, and by a door's accept loop
// once it is closed, like http.ErrServerClosed.
var ErrClosed = errors.New("gateway: closed")

// Gateway runs one broker: its store, its engine and its front doors.
// Create it with New, then Start it and, at the end, Shutdown it.
type Gateway struct {
	cfg Config
	log *slog.Logger
	// frontEnds builds the front-end of each door, by door name, once the
	// broker exists. A door without one is not started.
	frontEnds func(b *core.Broker, cfg Config, log *slog.Logger) map[string]frontEnd

	mu      sync.Mutex
	started bool
	stopped bool
	store   store.Store
	broker  *core.Broker
	doors   []*door
	addrs   map[string]net.Addr
	group   group

	shutdownOnce sync.Once
	shutdownDone chan struct{} // closed when the shutdown has finished
	shutdownErr  error         // set before shutdownDone is closed
}

// New checks cfg and returns a Gateway that has opened nothing yet. A nil log
// discards the log.
func New(cfg Config, log *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{
		cfg:          cfg,
		log:          log,
		frontEnds:    builtFrontEnds,
		addrs:        map[string]net.Addr{},
		shutdownDone: make(chan struct{}),
	}, nil
}

// builtFrontEnds returns the front-ends that exist, by door name. Each
// protocol registers itself from its own file (gateway/amqp.go, …) by adding
// a builder to frontEndBuilders in an init function.
func builtFrontEnds(b *core.Broker, cfg Config, log *slog.Logger) map[string]frontEnd {
	fes := map[string]frontEnd{}
	for _, add := range frontEndBuilders {
		add(fes, b, cfg, log)
	}
	return fes
}

// frontEndBuilders add front-ends to the map by door name ("amqp", "amqps",
// "mqtt", …, the YAML keys under listeners).
var frontEndBuilders []func(fes map[string]frontEnd, b *core.Broker, cfg Config, log *slog.Logger)

// Start opens the store, creates the broker, applies the configured vhosts,
// users and permissions, and starts serving every enabled door that has a
// front-end. On error everything it opened is closed again.
func (gw *Gateway) Start() error {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	switch {
	case gw.stopped:
		return ErrClosed
	case gw.started:
		return errors.New("gateway: already started")
	}

	st, dataDir, err := gw.openStore()
	if err != nil {
		return err
	}
	b, err := core.New(core.Config{
		Store:               st,
		Logger:              gw.log.With("component", "core"),
		MemoryHighWatermark: gw.cfg.MemoryHighWatermark,
		BodyCacheBytes:      gw.cfg.BodyCacheBytes,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("start broker: %w", err), st.Close())
	}
	if err := gw.apply(b); err != nil {
		return errors.Join(err, b.Close(), st.Close())
	}
	doors, notBuilt, err := gw.bind(b)
	if err != nil {
		return errors.Join(err, b.Close(), st.Close())
	}

	gw.store, gw.broker, gw.doors, gw.started = st, b, doors, true
	var listening []string
	for _, d := range doors {
		gw.addrs[d.name] = d.ln.Addr()
		listening = append(listening, d.name+"="+d.ln.Addr().String())
		gw.group.Go(func() {
			if err := d.serve(&gw.group); !errors.Is(err, ErrClosed) {
				d.log.Error("listener stopped", "err", err)
			}
		})
	}
	attrs := []any{"storage", gw.cfg.Storage}
	if dataDir != "" {
		attrs = append(attrs, "data_dir", dataDir)
	}
	attrs = append(attrs, "listening", joinOr(listening, "none"), "not_built", joinOr(notBuilt, "none"))
	gw.log.Info("mqgate started", attrs...)
	return nil
}

// openStore opens the configured store; dataDir is its absolute path, or ""
// for memory.
func (gw *Gateway) openStore() (st store.Store, dataDir string, err error) {
	if gw.cfg.Storage == StorageMemory {
		return store.NewMemory(), "", nil
	}
	dataDir, err = filepath.Abs(gw.cfg.DataDir)
	if err != nil {
		return nil, "", fmt.Errorf("data dir %s: %w", gw.cfg.DataDir, err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, "", fmt.Errorf("data dir: %w", err)
	}
	st, err = store.OpenDurable(dataDir, store.DurableOptions{Logger: gw.log.With("component", "store")})
	if err != nil {
		return nil, "", fmt.Errorf("open store in %s: %w", dataDir, err)
	}
	return st, dataDir, nil
}

// apply creates the configured vhosts and users and grants their permissions.
func (gw *Gateway) apply(b *core.Broker) error {
	for _, v := range gw.cfg.VHosts {
		if err := b.AddVHost(v); err != nil {
			return fmt.Errorf("add vhost %q: %w", v, err)
		}
	}
	for _, u := range gw.cfg.Users {
		if err := b.PutUser(u.Name, u.Password, u.Tags); err != nil {
			return fmt.Errorf("put user %q: %w", u.Name, err)
		}
	}
	for _, p := range gw.cfg.Permissions {
		if err := b.SetPermissions(p.User, p.VHost, p.Configure, p.Write, p.Read); err != nil {
			return fmt.Errorf("set permissions of %q on vhost %q: %w", p.User, p.VHost, err)
		}
	}
	for _, p := range gw.cfg.TopicPermissions {
		if err := b.SetTopicPermissions(p.User, p.VHost, p.Exchange, p.Write, p.Read); err != nil {
			return fmt.Errorf("set topic permissions of %q on exchange %q of vhost %q: %w",
				p.User, p.Exchange, p.VHost, err)
		}
	}
	return nil
}

// bind listens on every enabled door that has a front-end; notBuilt names the
// enabled doors that have none.
func (gw *Gateway) bind(b *core.Broker) (doors []*door, notBuilt []string, err error) {
	fes := gw.frontEnds(b, gw.cfg, gw.log)
	for _, dc := range gw.cfg.Listeners.doors() {
		if !dc.cfg.Enabled {
			continue
		}
		fe, ok := fes[dc.name]
		if !ok {
			notBuilt = append(notBuilt, dc.name)
			continue
		}
		ln, err := listen(*dc.cfg)
		if err != nil {
			for _, d := range doors {
				d.close()
			}
			return nil, nil, fmt.Errorf("listeners.%s: %w", dc.name, err)
		}
		doors = append(doors, newDoor(dc.name, ln, fe, gw.log.With("proto", dc.name)))
	}
	return doors, notBuilt, nil
}

// Addrs returns the address each listening door is bound to, by door name
// (the YAML key under listeners), so a door configured with port 0 can be
// found. It is empty before Start, after Shutdown, and while no front-end is
// built.
func (gw *Gateway) Addrs() map[string]net.Addr {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	return maps.Clone(gw.addrs)
}

// Shutdown stops accepting connections, lets each front-end drain its
// sessions, closes the connections that remain, closes the broker and
// finally flushes and closes the store. It returns when that is done or when
// ctx is, whichever is first; in the second case the rest goes on in the
// background, and no confirmed message is at risk, since a message is
// confirmed only once it is on disk. Shutdown may be called more than once,
// and before Start; every call reports the outcome of the first.
func (gw *Gateway) Shutdown(ctx context.Context) error {
	gw.shutdownOnce.Do(func() {
		gw.mu.Lock()
		gw.stopped = true
		started := gw.started
		gw.mu.Unlock()
		if !started {
			close(gw.shutdownDone)
			return
		}
		go func() {
			gw.shutdownErr = gw.shutdown(ctx)
			close(gw.shutdownDone)
		}()
	})
	select {
	case <-gw.shutdownDone:
		return gw.shutdownErr
	case <-ctx.Done():
		return fmt.Errorf("shutdown: %w", ctx.Err())
	}
}

// shutdown does Shutdown's work. Start has returned, so gw's fields are set
// and no longer change.
func (gw *Gateway) shutdown(ctx context.Context) error {
	gw.log.Debug("shutting down")
	var errs []error
	for _, d := range gw.doors {
		errs = append(errs, d.close())
	}
	gw.mu.Lock()
	clear(gw.addrs)
	gw.mu.Unlock()
	for _, d := range gw.doors {
		// The door closed the listener first, so an http.Server front-end
		// reports that close again: it is not a shutdown failure.
		if err := d.fe.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("%s: shutdown: %w", d.name, err))
		}
		d.closeConns()
	}
	// Unbounded: every connection is closed now, so its goroutine returns
	// promptly, and if one does not, Shutdown has already returned at ctx's end
	// while the broker and store stay open under it.
	gw.group.Close()
	gw.group.Wait()
	if err := gw.broker.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close broker: %w", err))
	}
	if err := gw.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	err := errors.Join(errs...)
	if err != nil {
		gw.log.Error("shutdown", "err", err)
	} else {
		gw.log.Info("mqgate stopped")
	}
	return err
}

func joinOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ",")
}
