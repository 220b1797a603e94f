package auth

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// User is a broker user as RabbitMQ's definitions describe one.
type User struct {
	Name         string
	PasswordHash string // base64, RabbitMQ's format; "" means no password login
	// Hashing is the algorithm of PasswordHash; "" means SHA256. Exports
	// name it since RabbitMQ 3.6.1. When it is missing, RabbitMQ's import
	// assumes MD5 for rabbit_version 3.0 to 3.5 and SHA-256 otherwise
	// (rabbit_auth_backend_internal:hashing_algorithm/2); an importer does
	// the same.
	Hashing Hashing
	Tags    []string
}

// HasTag reports whether u carries tag (such as "administrator").
func (u *User) HasTag(tag string) bool { return slices.Contains(u.Tags, tag) }

func (u User) clone() User {
	u.Tags = slices.Clone(u.Tags)
	return u
}

// Grant is one user's Permission in one vhost, as listed by Permissions.
type Grant struct {
	User, VHost string
	Permission
}

// TopicGrant is one user's TopicPermission in one vhost.
type TopicGrant struct {
	User, VHost string
	TopicPermission
}

type userVHost struct{ user, vhost string }

// Registry holds users and their permissions. It is safe for concurrent use;
// checks take a read lock and do not allocate unless they refuse.
//
// The Registry does not know which vhosts exist: core refuses a missing vhost
// itself, with the same Denied that CheckVHost returns, as RabbitMQ does
// (rabbit_access_control:check_vhost_access/4 folds "exists" into the check).
type Registry struct {
	mu       sync.RWMutex
	users    map[string]*User
	perms    map[userVHost]*CompiledPermission
	topics   map[userVHost]map[string]*CompiledTopicPermission // by exchange
	loopback []string
}

// NewRegistry returns an empty Registry whose loopback-only users are
// ["guest"], RabbitMQ's default loopback_users.
func NewRegistry() *Registry {
	return &Registry{
		users:    make(map[string]*User),
		perms:    make(map[userVHost]*CompiledPermission),
		topics:   make(map[userVHost]map[string]*CompiledTopicPermission),
		loopback: []string{"guest"},
	}
}

// SetLoopbackUsers replaces the users who may log in only from a loopback
// address. Empty allows everyone everywhere (RabbitMQ's loopback_users = none).
func (r *Registry) SetLoopbackUsers(names []string) {
	r.mu.Lock()
	r.loopback = slices.Clone(names)
	r.mu.Unlock()
}

// LoopbackUsers returns the loopback-only users.
func (r *Registry) LoopbackUsers() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.loopback)
}

// PutUser adds u or replaces the user of that name, keeping its permissions.
func (r *Registry) PutUser(u User) error {
	if u.Name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidUser)
	}
	if !u.Hashing.Valid() {
		return fmt.Errorf("%w '%s': unknown hashing algorithm '%s'", ErrInvalidUser, u.Name, u.Hashing)
	}
	c := u.clone()
	r.mu.Lock()
	r.users[u.Name] = &c
	r.mu.Unlock()
	return nil
}

// DeleteUser removes a user with its permissions and topic permissions, as
// rabbit_auth_backend_internal:delete_user/2 does. It reports whether the
// user existed.
func (r *Registry) DeleteUser(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.users[name]; !ok {
		return false
	}
	delete(r.users, name)
	for k := range r.perms {
		if k.user == name {
			delete(r.perms, k)
		}
	}
	for k := range r.topics {
		if k.user == name {
			delete(r.topics, k)
		}
	}
	return true
}

// DeleteVHost removes every permission and topic permission on vhost, for
// core to call when it deletes the vhost.
func (r *Registry) DeleteVHost(vhost string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.perms {
		if k.vhost == vhost {
			delete(r.perms, k)
		}
	}
	for k := range r.topics {
		if k.vhost == vhost {
			delete(r.topics, k)
		}
	}
}

// User returns a copy of the named user.
func (r *Registry) User(name string) (User, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, ok := r.users[name]
	if !ok {
		return User{}, false
	}
	return u.clone(), true
}

// Users returns copies of all users, sorted by name.
func (r *Registry) Users() []User {
	r.mu.RLock()
	out := make([]User, 0, len(r.users))
	for _, u := range r.users {
		out = append(out, u.clone())
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b User) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// SetPermission sets user's permission in vhost. The user must exist and
// every regex must compile (rabbit_auth_backend_internal:set_permissions/6).
func (r *Registry) SetPermission(user, vhost string, p Permission) error {
	c, err := p.Compile()
	if err != nil {
		return fmt.Errorf("set permissions for user '%s' in vhost '%s': %w", user, vhost, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.users[user]; !ok {
		return fmt.Errorf("set permissions for user '%s' in vhost '%s': %w", user, vhost, ErrNoSuchUser)
	}
	r.perms[userVHost{user, vhost}] = c
	return nil
}

// ClearPermission removes user's permission in vhost, and with it access to
// the vhost.
func (r *Registry) ClearPermission(user, vhost string) {
	r.mu.Lock()
	delete(r.perms, userVHost{user, vhost})
	r.mu.Unlock()
}

// Permission returns user's compiled permission in vhost.
func (r *Registry) Permission(user, vhost string) (*CompiledPermission, bool) {
	r.mu.RLock()
	c, ok := r.perms[userVHost{user, vhost}]
	r.mu.RUnlock()
	return c, ok
}

// Permissions lists every permission, sorted by user then vhost, for export.
func (r *Registry) Permissions() []Grant {
	r.mu.RLock()
	out := make([]Grant, 0, len(r.perms))
	for k, c := range r.perms {
		out = append(out, Grant{User: k.user, VHost: k.vhost, Permission: c.src})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Grant) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.VHost, b.VHost))
	})
	return out
}

// SetTopicPermission sets user's topic permission for p.Exchange in vhost. The
// user must exist and both regexes must compile
// (rabbit_auth_backend_internal:set_topic_permissions/6).
func (r *Registry) SetTopicPermission(user, vhost string, p TopicPermission) error {
	c, err := p.Compile()
	if err != nil {
		return fmt.Errorf("set topic permissions on exchange '%s' for user '%s' in vhost '%s': %w",
			p.Exchange, user, vhost, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.users[user]; !ok {
		return fmt.Errorf("set topic permissions on exchange '%s' for user '%s' in vhost '%s': %w",
			p.Exchange, user, vhost, ErrNoSuchUser)
	}
	k := userVHost{user, vhost}
	m := r.topics[k]
	if m == nil {
		m = make(map[string]*CompiledTopicPermission)
		r.topics[k] = m
	}
	m[p.Exchange] = c
	return nil
}

// ClearTopicPermission removes user's topic permission for exchange in vhost,
// which allows every routing key on it again.
func (r *Registry) ClearTopicPermission(user, vhost, exchange string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := userVHost{user, vhost}
	if m := r.topics[k]; m != nil {
		delete(m, exchange)
		if len(m) == 0 {
			delete(r.topics, k)
		}
	}
}

// TopicPermission returns user's compiled topic permission for exchange in
// vhost.
func (r *Registry) TopicPermission(user, vhost, exchange string) (*CompiledTopicPermission, bool) {
	r.mu.RLock()
	c, ok := r.topics[userVHost{user, vhost}][exchange]
	r.mu.RUnlock()
	return c, ok
}

// TopicPermissions lists every topic permission, sorted by user, vhost and
// exchange, for export.
func (r *Registry) TopicPermissions() []TopicGrant {
	r.mu.RLock()
	var out []TopicGrant
	for k, m := range r.topics {
		for _, c := range m {
			out = append(out, TopicGrant{User: k.user, VHost: k.vhost, TopicPermission: c.src})
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b TopicGrant) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.VHost, b.VHost),
			cmp.Compare(a.Exchange, b.Exchange))
	})
	return out
}
