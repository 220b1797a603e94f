package amqp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// The opening of a connection (AMQP 0-9-1 §2.2.4):
//
//	C: protocol header   S: connection.start
//	C: start-ok          S: connection.tune     (after SASL PLAIN or AMQPLAIN)
//	C: tune-ok
//	C: connection.open   S: open-ok
//
// The reader writes the handshake's frames itself: the writer starts once the
// heartbeat interval is known.

// amqp09Header is AMQP 0-9's protocol header, which RabbitMQ serves as 0-9-1.
const amqp09Header = "AMQP\x01\x01\x00\x09"

// errHandshake ends a handshake that already told the client why.
var errHandshake = errors.New("amqp: handshake refused")

func (c *conn) handshake() error {
	_ = c.nc.SetDeadline(time.Now().Add(c.srv.cfg.HandshakeTimeout))
	got, err := wire.ReadProtocolHeader(c.br)
	if err != nil && !(errors.Is(err, wire.ErrProtocolHeader) && string(got[:]) == amqp09Header) {
		if errors.Is(err, wire.ErrProtocolHeader) {
			// AMQP 0-9-1 §4.2.2: answer with the header we support, then close.
			_, _ = c.nc.Write([]byte(wire.ProtocolHeader))
			c.logClient(slog.LevelInfo, "client did not start with the AMQP 0-9-1 protocol header", "got", fmt.Sprintf("%q", got[:]))
		}
		return err
	}
	if err := c.writeDirect(&wire.ConnectionStart{VersionMajor: wire.ProtocolMajor, VersionMinor: wire.ProtocolMinor,
		ServerProperties: c.srv.props, Mechanisms: []byte("PLAIN AMQPLAIN"), Locales: []byte("en_US")}); err != nil {
		return err
	}
	startOk, err := readHandshake[*wire.ConnectionStartOk](c)
	if err != nil {
		return err
	}
	c.readCapabilities(startOk.ClientProperties)
	if err := c.authenticate(startOk); err != nil {
		return err
	}
	cfg := c.srv.cfg
	if err := c.writeDirect(&wire.ConnectionTune{ChannelMax: cfg.ChannelMax, FrameMax: cfg.FrameMax,
		Heartbeat: uint16(min(cfg.Heartbeat/time.Second, 65535))}); err != nil {
		return err
	}
	tuneOk, err := readHandshake[*wire.ConnectionTuneOk](c)
	if err != nil {
		return err
	}
	if err := c.tune(tuneOk); err != nil {
		return c.refuse(err, tuneOk)
	}
	open, err := readHandshake[*wire.ConnectionOpen](c)
	if err != nil {
		return err
	}
	if err := c.open(open); err != nil {
		return c.refuse(err, open)
	}
	if err := c.writeDirect(&wire.ConnectionOpenOk{}); err != nil {
		c.core.Close()
		return err
	}
	_ = c.nc.SetDeadline(time.Time{})
	c.log.Debug("connection open", "user", c.user, "vhost", c.vhost, "heartbeat", c.heartbeat,
		"frame_max", c.frameMax, "channel_max", c.channelMax)
	return nil
}

// readHandshake reads the next method on channel 0, skipping heartbeats,
// and requires it to be an M.
func readHandshake[M wire.Method](c *conn) (M, error) {
	var zero M
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var we *wire.Error
			if errors.As(err, &we) {
				return zero, c.refuse(err, nil)
			}
			return zero, err
		}
		if f.Type == wire.FrameHeartbeat {
			continue
		}
		if f.Type != wire.FrameMethod || f.Channel != 0 {
			return zero, c.refuse(errorf(wire.ReplyUnexpectedFrame, "frame of type %d on channel %d during the handshake",
				f.Type, f.Channel), nil)
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return zero, c.refuse(err, nil)
		}
		if want, ok := m.(M); ok {
			return want, nil
		}
		if _, ok := m.(*wire.ConnectionClose); ok {
			_ = c.writeDirect(&wire.ConnectionCloseOk{})
			return zero, errHandshake
		}
		return zero, c.refuse(errorf(wire.ReplyChannelError, "unexpected method %s during the handshake, expected %s",
			m.Name(), zero.Name()), m)
	}
}

// refuse sends connection.close for err and closes: the handshake is over.
func (c *conn) refuse(err error, m wire.Method) error {
	ae := fromCore(err, m)
	c.logClient(slog.LevelInfo, "connection refused", "code", ae.code, "text", ae.text)
	if c.writeDirect(&wire.ConnectionClose{ReplyCode: ae.code, ReplyText: replyText(ae.code, ae.text),
		FailingClassID: ae.classID, FailingMethodID: ae.methodID}) == nil {
		c.waitCloseOk()
	}
	return errHandshake
}

// waitCloseOk reads briefly for the client's close-ok after a refusal, so
// the close frame reaches it before the socket goes.
func (c *conn) waitCloseOk() {
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
	for {
		f, err := c.fr.ReadFrame()
		if err != nil || f.Type != wire.FrameMethod {
			return
		}
		if m, err := wire.DecodeMethod(f.Payload); err == nil {
			if _, ok := m.(*wire.ConnectionCloseOk); ok {
				return
			}
		}
	}
}

// writeDirect writes one method frame on channel 0 (handshake only).
func (c *conn) writeDirect(m wire.Method) error {
	b, err := wire.AppendMethodFrame(nil, 0, m)
	if err != nil {
		return err
	}
	_, err = c.nc.Write(b)
	return err
}

func (c *conn) readCapabilities(props core.Table) {
	caps, _ := props["capabilities"].(core.Table)
	flag := func(k string) bool { v, _ := caps[k].(bool); return v }
	c.caps = capabilities{blocked: flag("connection.blocked"), cancelNotify: flag("consumer_cancel_notify"),
		authFailureClose: flag("authentication_failure_close")}
}

// authenticate checks start-ok's SASL response against the broker's users.
// A refused login closes the connection: with connection.close 403 when the
// client advertised authentication_failure_close, silently otherwise, as
// RabbitMQ does; the log has the reason either way.
func (c *conn) authenticate(m *wire.ConnectionStartOk) error {
	var user, pass string
	switch m.Mechanism {
	case "PLAIN":
		// RFC 4616: [authzid] NUL authcid NUL passwd.
		parts := bytes.Split(m.Response, []byte{0})
		if len(parts) != 3 {
			return c.refuse(errorf(wire.ReplySyntaxError, "invalid PLAIN response"), m)
		}
		user, pass = string(parts[1]), string(parts[2])
	case "AMQPLAIN":
		t, err := wire.DecodeTable(m.Response)
		if err != nil {
			return c.refuse(errorf(wire.ReplySyntaxError, "invalid AMQPLAIN response: %v", err), m)
		}
		u, okU := t["LOGIN"].(string)
		p, okP := t["PASSWORD"].(string)
		if !okU || !okP {
			return c.refuse(errorf(wire.ReplySyntaxError, "AMQPLAIN response lacks LOGIN or PASSWORD"), m)
		}
		user, pass = u, p
	default:
		return c.refuse(errorf(wire.ReplyCommandInvalid, "unknown authentication mechanism '%s'", m.Mechanism), m)
	}
	if err := c.b.Authenticate(user, pass, c.nc.RemoteAddr()); err != nil {
		c.logClient(slog.LevelWarn, "login refused", "mechanism", m.Mechanism, "user", user, "err", err)
		if c.caps.authFailureClose {
			_ = c.writeDirect(&wire.ConnectionClose{ReplyCode: wire.ReplyAccessRefused,
				ReplyText: replyText(wire.ReplyAccessRefused, "Login was refused using authentication mechanism "+
					m.Mechanism+". For details see the broker logfile.")})
			c.waitCloseOk()
		}
		return errHandshake
	}
	c.user = user
	return nil
}

// tune applies tune-ok, validated as RabbitMQ validates it
// (rabbit_reader:validate_negotiated_integer_value): the client may lower
// the server's frame_max and channel_max but neither raise them nor go
// below the minimum; its heartbeat wins.
func (c *conn) tune(m *wire.ConnectionTuneOk) error {
	cfg := c.srv.cfg
	switch {
	case m.FrameMax != 0 && m.FrameMax < wire.FrameMinSize:
		return errorf(wire.ReplyNotAllowed, "negotiated frame_max = %d is lower than the minimum allowed value (%d)",
			m.FrameMax, wire.FrameMinSize)
	case m.FrameMax == 0 || m.FrameMax > cfg.FrameMax:
		return errorf(wire.ReplyNotAllowed, "negotiated frame_max = %d is higher than the maximum allowed value (%d)",
			m.FrameMax, cfg.FrameMax)
	case m.ChannelMax == 0 || m.ChannelMax > cfg.ChannelMax:
		return errorf(wire.ReplyNotAllowed, "negotiated channel_max = %d is higher than the maximum allowed value (%d)",
			m.ChannelMax, cfg.ChannelMax)
	}
	c.frameMax, c.channelMax = m.FrameMax, m.ChannelMax
	c.heartbeat = time.Duration(m.Heartbeat) * time.Second
	// RabbitMQ tolerates frames a few octets over frame-max, since clients
	// often get the frame overhead wrong by one or eight.
	c.fr.SetMaxFrameSize(c.frameMax + 8)
	return nil
}

// open binds the connection to its vhost.
func (c *conn) open(m *wire.ConnectionOpen) error {
	// The virtual-host field's domain (path) is a non-empty shortstr of at
	// most 127 octets.
	if m.VirtualHost == "" || len(m.VirtualHost) > 127 {
		return errorf(wire.ReplyInvalidPath, "invalid virtual host name '%s'", m.VirtualHost)
	}
	cc, err := c.b.Connect(c.user, m.VirtualHost, core.ConnectOptions{
		Name:    c.nc.RemoteAddr().String(),
		Blocked: c.setBlocked,
	})
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) && ce.Code == core.AccessRefused {
			return errorf(wire.ReplyNotAllowed, "%s", ce.Msg)
		}
		return err
	}
	c.mu.Lock()
	c.core = cc
	c.mu.Unlock()
	c.vhost = m.VirtualHost
	return nil
}
