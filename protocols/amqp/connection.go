package amqp

import (
	"log/slog"

	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// The connection class once the connection is open (channel 0). The
// handshake's methods are handled by handshake.go; arriving later they are
// errors, as in RabbitMQ.

type connectionHandler func(c *conn, m wire.Method) (done bool, err error)

// connectionMethods maps each connection method a client may send after the
// handshake to its handler.
var connectionMethods = map[wire.MethodKey]connectionHandler{
	{Class: wire.ClassConnection, Method: wire.MethodConnectionClose}:          (*conn).handleConnectionClose,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionCloseOk}:        (*conn).handleConnectionCloseOk,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionBlocked}:        (*conn).handleConnectionBlocked,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionUnblocked}:      (*conn).handleConnectionBlocked,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionUpdateSecret}:   (*conn).handleConnectionUpdateSecret,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionUpdateSecretOk}: (*conn).handleUnexpectedConnection,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionStartOk}:        (*conn).handleUnexpectedConnection,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionSecureOk}:       (*conn).handleUnexpectedConnection,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionTuneOk}:         (*conn).handleUnexpectedConnection,
	{Class: wire.ClassConnection, Method: wire.MethodConnectionOpen}:           (*conn).handleUnexpectedConnection,
}

func methodKey(m wire.Method) wire.MethodKey {
	return wire.MethodKey{Class: m.ClassID(), Method: m.MethodID()}
}

func (c *conn) handleConnectionMethod(m wire.Method) (bool, error) {
	h, ok := connectionMethods[methodKey(m)]
	if !ok {
		// A method of another class on channel 0 (AMQP 0-9-1 §4.2.4: channel
		// 0 is for the connection class).
		return false, withMethod(errorf(wire.ReplyCommandInvalid, "method %s on channel 0", m.Name()), m)
	}
	done, err := h(c, m)
	if err != nil {
		return done, withMethod(fromCore(err, m), m)
	}
	return done, nil
}

// handleConnectionClose answers a client's close: every channel closes (its
// deliveries requeued), the core connection closes (its exclusive queues
// deleted), then close-ok, so that a client which saw close-ok finds its
// exclusive queues gone.
func (c *conn) handleConnectionClose(m wire.Method) (bool, error) {
	if cl := m.(*wire.ConnectionClose); cl.ReplyCode != wire.ReplySuccess {
		c.logClient(slog.LevelInfo, "client closed the connection with an error", "code", cl.ReplyCode, "text", cl.ReplyText)
	}
	for id, ch := range c.channels {
		ch.release()
		delete(c.channels, id)
	}
	if c.core != nil {
		c.core.Close() // again in cleanup, where it does nothing
	}
	c.send(0, &wire.ConnectionCloseOk{})
	return true, nil
}

// handleConnectionCloseOk: the client acknowledges a close we sent. The
// reader only gets here when Shutdown sent it; the closing state handles
// the rest.
func (c *conn) handleConnectionCloseOk(wire.Method) (bool, error) {
	c.mu.Lock()
	sent := c.closeSent
	c.mu.Unlock()
	if sent {
		return true, nil
	}
	return false, errorf(wire.ReplyChannelError, "unexpected method in connection state running")
}

// handleConnectionBlocked accepts connection.blocked and unblocked from a
// client: the extension lets both peers send them, and a client's own
// resource alarm needs nothing from the server.
func (c *conn) handleConnectionBlocked(m wire.Method) (bool, error) {
	c.log.Debug("client sent "+m.Name(), "method", m.Name())
	return false, nil
}

// handleConnectionUpdateSecret re-checks the user with a new secret (its
// password here), as RabbitMQ's OAuth token refresh does.
func (c *conn) handleConnectionUpdateSecret(m wire.Method) (bool, error) {
	us := m.(*wire.ConnectionUpdateSecret)
	if err := c.b.Authenticate(c.user, string(us.NewSecret), c.nc.RemoteAddr()); err != nil {
		c.logClient(slog.LevelWarn, "secret update refused", "user", c.user, "err", err)
		return false, errorf(wire.ReplyNotAllowed, "New secret was refused by one of the backends")
	}
	c.send(0, &wire.ConnectionUpdateSecretOk{})
	return false, nil
}

func (c *conn) handleUnexpectedConnection(wire.Method) (bool, error) {
	return false, errorf(wire.ReplyChannelError, "unexpected method in connection state running")
}
