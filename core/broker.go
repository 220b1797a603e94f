package core

import (
	"errors"
	"log/slog"

	"github.com/mqgate/mqgate/core/store"
)

// Config configures a Broker.
type Config struct {
	// Store persists durable entities and messages. Required.
	Store store.Store
	// Logger receives the broker's log; nil discards it.
	Logger *slog.Logger
	// MemoryHighWatermark is the number of bytes of message data held in memory
	// above which publishers are blocked; 0 means no limit.
	MemoryHighWatermark int64
	// BodyCacheBytes bounds the bytes of persisted message bodies kept in
	// memory; bodies beyond it are read back from the store when delivered.
	BodyCacheBytes int64
}

// Broker is the engine. Create it with New; it is safe for concurrent use.
type Broker struct {
	cfg Config
	log *slog.Logger
}

// New recovers the broker's state from cfg.Store and returns it.
func New(cfg Config) (*Broker, error) {
	if cfg.Store == nil {
		return nil, errors.New("core: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Broker{cfg: cfg, log: cfg.Logger}, nil
}

// Close stops the broker's timers and closes every connection. It does not
// close the store, which belongs to the caller.
func (b *Broker) Close() error { return nil }

// AddVHost creates the vhost name with its standard exchanges, if absent.
func (b *Broker) AddVHost(name string) error { return nil }

// PutUser creates or replaces user name with a salted hash of password.
func (b *Broker) PutUser(name, password string, tags []string) error { return nil }

// SetPermissions grants user the configure, write and read regexes on vhost.
func (b *Broker) SetPermissions(user, vhost, configure, write, read string) error { return nil }

// SetTopicPermissions grants user write and read routing-key regexes on the
// topic exchange of vhost.
func (b *Broker) SetTopicPermissions(user, vhost, exchange, write, read string) error { return nil }
