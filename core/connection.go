package core

import (
	"errors"
	"net"
	"sync"

	"github.com/mqgate/mqgate/core/auth"
)

// ConnectOptions describe a client connection.
type ConnectOptions struct {
	// Name is shown in logs and management (the remote address, say).
	Name string
	// ClientID is the {client_id} of topic permission patterns (MQTT).
	ClientID string
	// Blocked, if set, is called when publishers must pause (true) and may
	// resume (false): the memory watermark. It must not block.
	Blocked func(blocked bool)
}

// Connection is an authenticated client bound to a vhost. It owns sessions
// and exclusive queues.
type Connection struct {
	b    *Broker
	vh   *VHost
	user string
	id   uint64
	opts ConnectOptions

	mu        sync.Mutex
	sessions  map[*Session]struct{}
	exclusive map[*Queue]struct{}
	closed    bool
}

// Authenticate checks a password login from remote (users listed as
// loopback-only, guest by default, may log in only from a loopback address).
func (b *Broker) Authenticate(user, password string, remote net.Addr) error {
	_, err := b.users.Authenticate(user, password, isLoopback(remote))
	if err != nil {
		return &Error{Code: AccessRefused, Msg: err.Error()}
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	switch x := a.(type) {
	case *net.TCPAddr:
		return x.IP.IsLoopback()
	case *net.UDPAddr:
		return x.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	case nil:
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		host = a.String()
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Connect opens a connection for an authenticated user to vhost.
func (b *Broker) Connect(user, vhost string, opts ConnectOptions) (*Connection, error) {
	vh := b.VHost(vhost)
	if vh == nil {
		return nil, errorf(AccessRefused, "vhost '%s' not found", vhost)
	}
	if err := b.users.CheckVHost(user, vhost); err != nil {
		return nil, &Error{Code: AccessRefused, Msg: err.Error()}
	}
	c := &Connection{b: b, vh: vh, user: user, id: b.connSeq.Add(1), opts: opts,
		sessions: make(map[*Session]struct{}), exclusive: make(map[*Queue]struct{})}
	if !b.addConn(c) {
		return nil, errorf(ResourceLimit, "broker is shutting down")
	}
	if opts.Blocked != nil && b.flow.blocked.Load() {
		opts.Blocked(true)
	}
	return c, nil
}

// User is the connection's user name.
func (c *Connection) User() string { return c.user }

// VHost is the connection's vhost.
func (c *Connection) VHost() *VHost { return c.vh }

// OpenSession starts a session on the connection.
func (c *Connection) OpenSession() (*Session, error) {
	s := &Session{conn: c, unacked: make(map[uint64]*lease), consumers: make(map[string]*Consumer)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errorf(PreconditionFailed, "connection closed")
	}
	c.sessions[s] = struct{}{}
	return s, nil
}

func (c *Connection) forgetSession(s *Session) {
	c.mu.Lock()
	delete(c.sessions, s)
	c.mu.Unlock()
}

// Close closes every session (requeueing their deliveries) and deletes the
// connection's exclusive queues.
func (c *Connection) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	ss := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		ss = append(ss, s)
	}
	qs := make([]*Queue, 0, len(c.exclusive))
	for q := range c.exclusive {
		qs = append(qs, q)
	}
	c.mu.Unlock()
	for _, s := range ss {
		s.Close()
	}
	for _, q := range qs {
		c.vh.deleteQueue(q, false, false, "exclusive owner closed")
	}
	c.b.removeConn(c)
}

type permKind = auth.Kind

const (
	permConfigure = auth.Configure
	permWrite     = auth.Write
	permRead      = auth.Read
)

// checkQueue and checkExchange ask the user registry; refusals become
// AccessRefused errors worded as RabbitMQ words them.
func (c *Connection) checkQueue(p permKind, name string) error {
	return denied(c.b.users.CheckResource(c.user, c.vh.name, p, auth.Queue, name))
}

func (c *Connection) checkExchange(p permKind, name string) error {
	return denied(c.b.users.CheckResource(c.user, c.vh.name, p, auth.Exchange, name))
}

func (c *Connection) checkTopic(p permKind, x *Exchange, key string) error {
	if x.kind != KindTopic {
		return nil
	}
	var vars map[string]string
	if c.opts.ClientID != "" {
		vars = map[string]string{"client_id": c.opts.ClientID}
	}
	return denied(c.b.users.CheckTopic(c.user, c.vh.name, x.name, key, p, vars))
}

func denied(err error) error {
	if err == nil {
		return nil
	}
	var d *auth.Denied
	if errors.As(err, &d) {
		return &Error{Code: AccessRefused, Msg: d.Msg}
	}
	return &Error{Code: AccessRefused, Msg: err.Error()}
}

// queueFor looks up a queue for an operation needing perm on it, enforcing
// exclusivity.
func (c *Connection) queueFor(name string, perm permKind) (*Queue, error) {
	if err := c.checkQueue(perm, name); err != nil {
		return nil, err
	}
	q := c.vh.queue(name)
	if q == nil {
		return nil, errorf(NotFound, "no queue '%s' in vhost '%s'", name, c.vh.name)
	}
	if q.exclusive && q.owner != c {
		return nil, lockedError(q)
	}
	return q, nil
}

func lockedError(q *Queue) *Error {
	return errorf(ResourceLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
		"It could be originally declared on another connection or the exclusive property value does not "+
		"match that of the original declaration.", q.name, q.vh.name)
}
