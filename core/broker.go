package core

import (
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/core/store"
)

// Config configures a Broker.
type Config struct {
	// Store persists durable entities and messages. Required.
	Store store.Store
	// Logger receives the broker's log; nil discards it.
	Logger *slog.Logger
	// Clock is the source of time; nil is the system clock.
	Clock Clock
	// MemoryHighWatermark is the number of bytes of message bodies held in
	// memory above which publishers are blocked; 0 means no limit.
	MemoryHighWatermark int64
	// BodyCacheBytes bounds the bytes of message bodies kept in memory once
	// they are on disk; beyond it persisted bodies are dropped from memory and
	// read back from the store when delivered. 0 means 64 MiB.
	BodyCacheBytes int64
	// LoopbackUsers may log in only from loopback addresses; nil means
	// ["guest"], as RabbitMQ's loopback_users.
	LoopbackUsers []string
}

// Broker is the engine. Create it with New; it is safe for concurrent use.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	clock   Clock
	store   store.Store
	durable bool
	users   *auth.Registry

	msgSeq   atomic.Uint64
	queueSeq atomic.Uint64
	connSeq  atomic.Uint64

	mu     sync.Mutex
	vhosts map[string]*VHost
	conns  map[*Connection]struct{}
	closed bool

	flow flowState
}

// New recovers the broker's state from cfg.Store and returns it.
func New(cfg Config) (*Broker, error) {
	if cfg.Store == nil {
		return nil, errors.New("core: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.BodyCacheBytes == 0 {
		cfg.BodyCacheBytes = 64 << 20
	}
	b := &Broker{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, store: cfg.Store, durable: cfg.Store.Durable(),
		users: auth.NewRegistry(), vhosts: make(map[string]*VHost), conns: make(map[*Connection]struct{})}
	if cfg.LoopbackUsers != nil {
		b.users.SetLoopbackUsers(cfg.LoopbackUsers)
	}
	if err := b.recover(); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Broker) now() int64 { return b.clock.Now().UnixNano() }

// Close closes every connection and stops the queues' timers. It does not
// close the store, which belongs to the caller; call Store.Flush after it.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conns := make([]*Connection, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	vhs := make([]*VHost, 0, len(b.vhosts))
	for _, vh := range b.vhosts {
		vhs = append(vhs, vh)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	for _, vh := range vhs {
		vh.mu.RLock()
		for _, q := range vh.queues {
			q.mu.Lock()
			q.deleted = true // no more timers or deliveries
			if q.timer != nil {
				q.timer.Stop()
				q.timer = nil
			}
			q.mu.Unlock()
		}
		vh.mu.RUnlock()
	}
	return b.store.Flush()
}

func (b *Broker) addConn(c *Connection) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.conns[c] = struct{}{}
	return true
}

func (b *Broker) removeConn(c *Connection) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// VHost returns the vhost name, or nil.
func (b *Broker) VHost(name string) *VHost {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.vhosts[name]
}

// VHosts lists the vhost names, sorted.
func (b *Broker) VHosts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.vhosts))
	for n := range b.vhosts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AddVHost creates the vhost name with its standard exchanges, if absent.
func (b *Broker) AddVHost(name string) error {
	if name == "" {
		return errorf(InvalidArgument, "vhost name must not be empty")
	}
	b.mu.Lock()
	if b.vhosts[name] != nil {
		b.mu.Unlock()
		return nil
	}
	b.vhosts[name] = newVHost(b, name)
	b.mu.Unlock()
	return b.persistMeta(store.KindVHost, name, Table{})
}

// PutUser creates or replaces user name with a salted hash of password.
func (b *Broker) PutUser(name, password string, tags []string) error {
	return b.PutUserHash(name, auth.HashPassword(password), "", tags)
}

// PutUserHash creates or replaces a user from a password hash in RabbitMQ's
// format (definitions import), with its hashing algorithm ("" for SHA-256).
func (b *Broker) PutUserHash(name, hash string, hashing auth.Hashing, tags []string) error {
	if err := b.users.PutUser(auth.User{Name: name, PasswordHash: hash, Hashing: hashing, Tags: tags}); err != nil {
		return &Error{Code: InvalidArgument, Msg: err.Error()}
	}
	anyTags := make([]any, len(tags))
	for i, t := range tags {
		anyTags[i] = t
	}
	return b.persistMeta(store.KindUser, name, Table{"hash": hash, "hashing": string(hashing), "tags": anyTags})
}

// DeleteUser removes a user and their permissions.
func (b *Broker) DeleteUser(name string) error {
	if !b.users.DeleteUser(name) {
		return errorf(NotFound, "no user '%s'", name)
	}
	var batch store.Batch
	batch.DeleteMeta(store.KindUser, name)
	for _, g := range b.storedGrants(name) {
		batch.DeleteMeta(store.KindPermission, g)
	}
	return b.commitWait(&batch)
}

func (b *Broker) storedGrants(user string) []string {
	var keys []string
	_ = b.store.ForEachMeta(store.KindPermission, func(key string, _ []byte) error {
		if parts := strings.Split(key, "\x00"); len(parts) >= 3 && parts[1] == user {
			keys = append(keys, key)
		}
		return nil
	})
	return keys
}

// SetPermissions grants user the configure, write and read regexes on vhost.
func (b *Broker) SetPermissions(user, vhost, configure, write, read string) error {
	if b.VHost(vhost) == nil {
		return errorf(NotFound, "no vhost '%s'", vhost)
	}
	p := auth.Permission{Configure: configure, Write: write, Read: read}
	if err := b.users.SetPermission(user, vhost, p); err != nil {
		return &Error{Code: InvalidArgument, Msg: err.Error()}
	}
	return b.persistMeta(store.KindPermission, metaKey("p", user, vhost),
		Table{"user": user, "vhost": vhost, "configure": configure, "write": write, "read": read})
}

// SetTopicPermissions grants user write and read routing-key regexes on the
// topic exchange of vhost.
func (b *Broker) SetTopicPermissions(user, vhost, exchange, write, read string) error {
	if b.VHost(vhost) == nil {
		return errorf(NotFound, "no vhost '%s'", vhost)
	}
	p := auth.TopicPermission{Exchange: exchange, Write: write, Read: read}
	if err := b.users.SetTopicPermission(user, vhost, p); err != nil {
		return &Error{Code: InvalidArgument, Msg: err.Error()}
	}
	return b.persistMeta(store.KindPermission, metaKey("t", user, vhost, exchange),
		Table{"user": user, "vhost": vhost, "exchange": exchange, "write": write, "read": read})
}

// load returns st's message, reading it back from the store if its body was
// evicted from memory.
func (b *Broker) load(st *stored) (*Message, error) {
	if m := st.msg.Load(); m != nil {
		return m, nil
	}
	data, err := b.store.Message(st.id)
	if err != nil {
		return nil, err
	}
	return decodeMessage(data)
}
