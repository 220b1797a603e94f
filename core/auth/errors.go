package auth

import (
	"errors"
	"fmt"
)

// Denied is a refused permission check. Msg is worded as RabbitMQ words it, so
// front-ends can show it unchanged after their own error code.
type Denied struct {
	Msg string
}

func (d *Denied) Error() string { return d.Msg }

// Sentinel errors; match them with errors.Is.
var (
	// ErrBadCredentials: unknown user, wrong or blank password.
	ErrBadCredentials = errors.New("invalid credentials")
	// ErrLoopbackOnly: a user in the loopback list connected from elsewhere.
	ErrLoopbackOnly = errors.New("can only connect via localhost")
	// ErrNoSuchUser: a permission was set for a user that does not exist.
	ErrNoSuchUser = errors.New("no such user")
	// ErrInvalidRegexp: a permission pattern does not compile.
	ErrInvalidRegexp = errors.New("invalid regular expression")
	// ErrInvalidUser: PutUser was given a user without a name or with an
	// unknown hashing algorithm.
	ErrInvalidUser = errors.New("invalid user")
)

// The messages below are RabbitMQ's (rabbit_access_control.erl, with
// rabbit_misc:rs/1 rendering a resource as "queue 'q' in vhost '/'").

func deniedVHost(user, vhost string) *Denied {
	return &Denied{Msg: fmt.Sprintf("access to vhost '%s' refused for user '%s'", vhost, user)}
}

func deniedResource(user, vhost string, perm Kind, typ ResourceType, name string) *Denied {
	return &Denied{Msg: fmt.Sprintf("%s access to %s '%s' in vhost '%s' refused for user '%s'",
		perm, typ, name, vhost, user)}
}

func deniedTopic(user, vhost string, perm Kind, exchange, routingKey string) *Denied {
	return &Denied{Msg: fmt.Sprintf("%s access to topic '%s' in exchange '%s' in vhost '%s' refused for user '%s'",
		perm, routingKey, exchange, vhost, user)}
}
