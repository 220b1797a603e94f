package auth

import (
	"fmt"
	"slices"
)

// dummyHash is checked against when the user does not exist, so that a login
// for an unknown name costs the same hash as one with a wrong password and the
// response time does not reveal which names exist.
var dummyHash = SHA256.Hash("mqgate-unknown-user")

// Authenticate checks a password login. loopback reports whether the client
// connected from a loopback address. The order is RabbitMQ's (rabbit_reader:
// check_user_login, then check_user_loopback): credentials first, so a wrong
// password is ErrBadCredentials from anywhere, and only a user who proved
// their identity learns they must connect locally (ErrLoopbackOnly). The
// error texts are RabbitMQ's: "user 'u' - invalid credentials" and
// "user 'guest' can only connect via localhost".
func (r *Registry) Authenticate(name, password string, loopback bool) (*User, error) {
	r.mu.RLock()
	u, ok := r.users[name]
	var c User
	if ok {
		c = u.clone()
	}
	loopbackOnly := slices.Contains(r.loopback, name)
	r.mu.RUnlock()

	if password == "" {
		// rabbit_auth_backend_internal refuses blank passwords before it
		// looks the user up.
		return nil, fmt.Errorf("user '%s' attempted to log in with a blank password: %w", name, ErrBadCredentials)
	}
	if !ok {
		SHA256.Check(dummyHash, password)
		return nil, fmt.Errorf("user '%s' - %w", name, ErrBadCredentials)
	}
	if !c.Hashing.Check(c.PasswordHash, password) {
		return nil, fmt.Errorf("user '%s' - %w", name, ErrBadCredentials)
	}
	if loopbackOnly && !loopback {
		return nil, fmt.Errorf("user '%s' %w", name, ErrLoopbackOnly)
	}
	return &c, nil
}

// CheckVHost refuses user unless they have a permission entry on vhost, the
// first level of RabbitMQ's access control (checked when a client opens a
// connection to a vhost).
func (r *Registry) CheckVHost(user, vhost string) error {
	r.mu.RLock()
	_, ok := r.perms[userVHost{user, vhost}]
	r.mu.RUnlock()
	if !ok {
		return deniedVHost(user, vhost)
	}
	return nil
}

// CheckResource refuses user unless their permission in vhost grants perm on
// the resource of type typ called name. The default exchange ("") is checked
// as "amq.default". The error is a *Denied.
func (r *Registry) CheckResource(user, vhost string, perm Kind, typ ResourceType, name string) error {
	if typ == Exchange && name == "" {
		name = DefaultExchangeName
	}
	r.mu.RLock()
	c := r.perms[userVHost{user, vhost}]
	r.mu.RUnlock()
	if c == nil || !c.Allows(perm, name) {
		return deniedResource(user, vhost, perm, typ, name)
	}
	return nil
}

// CheckTopic refuses user unless their topic permission for exchange in vhost
// grants perm (Write to publish, Read to bind or subscribe) on routingKey. A
// user with no topic permission for the exchange is allowed, RabbitMQ's rule.
// vars supplies extra pattern variables such as "client_id"; "username" and
// "vhost" are always user and vhost. Topic permissions have no configure
// pattern, so Configure is refused wherever a topic permission exists. Core
// calls it for topic exchanges only, after the resource checks pass. The
// error is a *Denied.
func (r *Registry) CheckTopic(user, vhost, exchange, routingKey string, perm Kind, vars map[string]string) error {
	r.mu.RLock()
	c := r.topics[userVHost{user, vhost}][exchange]
	r.mu.RUnlock()
	if c == nil || c.Allows(perm, routingKey, user, vhost, vars) {
		return nil
	}
	return deniedTopic(user, vhost, perm, exchange, routingKey)
}
