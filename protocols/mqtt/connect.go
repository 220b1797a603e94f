package mqtt

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// conn is one network connection of an MQTT client, from its CONNECT to its
// end. Its session outlives it when the session is persistent.
type conn struct {
	srv      *Server
	cl       *mochi.Client
	nc       net.Conn
	log      *slog.Logger
	v5       bool
	user     string
	vhost    string
	clientID string // as the client knows it
	key      string // the session key: clientID, prefixed by "vhost\x00" outside the default vhost

	core *core.Connection // opened at CONNECT; handed to the session or closed
	sess *session         // set by establish

	will           *will
	sessionPresent bool
	sendLimit      int    // QoS 1/2 deliveries in flight at most: the client's Receive Maximum
	credit         int    // core prefetch: sendLimit capped by Config.Prefetch
	maxPacket      uint32 // the client's Maximum Packet Size; 0 is no limit

	gone     atomic.Bool // disconnected has run
	abnormal atomic.Bool // the server ended the connection for an error: the will is due
	shutdown atomic.Bool // ended by Shutdown: no will

	// read goroutine only
	retainedTodo  []item // retained messages matched by a SUBSCRIBE, sent after its SUBACK
	unsubackCodes []byte

	acks      ackQueue
	inPublish atomic.Bool // the read goroutine is in core's Publish: its burst writes due acks after
	acksDue   bool        // read goroutine only: acks became due during this burst
	writerMu  sync.Mutex
	writing   bool // a delivery writer goroutine runs
	again     bool // more work arrived while it ran
}

// subject is the conn as ACL rules see it.
func (c *conn) subject() aclSubject {
	return aclSubject{user: c.user, vhost: c.vhost, clientID: c.clientID}
}

// expiresOnDisconnect is mochi's rule: an MQTT 5 session with expiry 0, or
// an MQTT 3 clean session, ends with its connection.
func (c *conn) expiresOnDisconnect() bool {
	p := &c.cl.Properties
	return (p.ProtocolVersion == 5 && p.Props.SessionExpiryInterval == 0) || (p.ProtocolVersion < 5 && p.Clean)
}

// connect authenticates a CONNECT and opens its core connection. A refusal
// writes the CONNACK and returns an error, which ends the connection.
func (s *Server) connect(cl *mochi.Client, pk packets.Packet) error {
	refuse := func(code packets.Code) error {
		_ = s.mochi.SendConnack(cl, connackCode(code, cl.Properties.ProtocolVersion), false, nil)
		return code
	}
	if s.isClosed() {
		return refuse(packets.ErrServerUnavailable)
	}
	v5 := cl.Properties.ProtocolVersion == 5
	if v5 && pk.Properties.AuthenticationMethod != "" {
		return refuse(packets.ErrBadAuthenticationMethod) // no enhanced authentication (as Artemis)
	}
	user, pass, vhost := s.credentials(pk)
	if user == "" {
		return refuse(packets.ErrNotAuthorized) // anonymous, not allowed
	}
	remote := cl.Net.Conn.RemoteAddr()
	if err := s.b.Authenticate(user, pass, remote); err != nil {
		s.log.Info("mqtt: login refused", "user", user, "remote", remote.String(), "err", err)
		return refuse(packets.ErrBadUsernameOrPassword)
	}
	clientID := cl.ID // mochi assigned one if the client sent none [MQTT-3.1.3-6]
	if pk.Connect.WillFlag && !validTopic(pk.Connect.WillTopic) {
		return refuse(packets.ErrTopicNameInvalid) // [MQTT-3.1.3-11]
	}
	cc, err := s.b.Connect(user, vhost, core.ConnectOptions{Name: remote.String(), ClientID: clientID,
		Blocked: s.flow.set})
	if err != nil {
		s.log.Info("mqtt: vhost access refused", "user", user, "vhost", vhost, "err", err)
		return refuse(packets.ErrNotAuthorized)
	}
	key := clientID
	if vhost != s.cfg.DefaultVHost {
		// mochi knows clients by one identifier across vhosts; NUL cannot be
		// in a client identifier [MQTT-1.5.4-2], so this cannot collide.
		key = vhost + "\x00" + clientID
		cl.ID = key
	}
	c := &conn{srv: s, cl: cl, nc: cl.Net.Conn, v5: v5, user: user, vhost: vhost, clientID: clientID, key: key,
		core: cc, log: s.log.With("client", clientID, "remote", remote.String())}
	c.acks.c, c.acks.space = c, make(chan struct{}, 1)
	c.sendLimit = 65535
	if v5 {
		if rm := cl.Properties.Props.ReceiveMaximum; rm > 0 {
			c.sendLimit = int(rm)
		}
		c.maxPacket = cl.Properties.Props.MaximumPacketSize
		// [MQTT-3.1.2-21]: a server keep-alive replaces the client's.
		if ka := s.cfg.ServerKeepAlive; ka > 0 && (cl.State.Keepalive == 0 || cl.State.Keepalive > ka) {
			cl.State.Keepalive = ka
			cl.State.ServerKeepalive = true
		}
	}
	c.credit = min(c.sendLimit, s.cfg.Prefetch)
	if pk.Connect.WillFlag {
		c.will = &will{user: user, delay: cl.Properties.Will.WillDelayInterval, msg: appMsg{topic: pk.Connect.WillTopic,
			qos: pk.Connect.WillQos, retain: pk.Connect.WillRetain, payload: pk.Connect.WillPayload,
			props: messageProps(&pk.Connect.WillProperties)}}
		// The will is published here, through core; mochi must not.
		atomic.StoreUint32(&cl.Properties.Will.Flag, 0)
	}
	s.conns.Store(c.nc, c)
	return nil
}

// credentials returns the user, password and vhost a CONNECT logs in with:
// "vhost:user" names the vhost when it exists (RabbitMQ's form); no user
// name is the anonymous user when allowed ("" otherwise).
func (s *Server) credentials(pk packets.Packet) (user, pass, vhost string) {
	vhost = s.cfg.DefaultVHost
	if len(pk.Connect.Username) == 0 {
		if !s.cfg.AllowAnonymous {
			return "", "", vhost
		}
		return s.cfg.DefaultUser, s.cfg.DefaultPass, vhost
	}
	user, pass = string(pk.Connect.Username), string(pk.Connect.Password)
	if v, u, ok := strings.Cut(user, ":"); ok && v != "" && s.b.VHost(v) != nil {
		vhost, user = v, u
	}
	return user, pass, vhost
}

// messageProps keeps the properties of a PUBLISH (or will) that belong to
// the application message.
func messageProps(p *packets.Properties) packets.Properties {
	return packets.Properties{
		PayloadFormat:         p.PayloadFormat,
		PayloadFormatFlag:     p.PayloadFormatFlag,
		MessageExpiryInterval: p.MessageExpiryInterval,
		ContentType:           p.ContentType,
		ResponseTopic:         p.ResponseTopic,
		CorrelationData:       p.CorrelationData,
		User:                  p.User,
	}
}

// packetEncode adjusts packets mochi writes: the CONNACK tells the limits
// mochi does not announce itself; the UNSUBACK carries this package's reason
// codes.
func (c *conn) packetEncode(pk *packets.Packet) {
	switch pk.FixedHeader.Type {
	case packets.Connack:
		if pk.ReasonCode >= packets.ErrUnspecifiedError.Code {
			return
		}
		pk.Properties.TopicAliasMaximum = c.srv.cfg.TopicAliasMaximum
		pk.Properties.MaximumPacketSize = c.srv.cfg.MaxPacketSize
	case packets.Unsuback:
		if len(c.unsubackCodes) == len(pk.ReasonCodes) {
			copy(pk.ReasonCodes, c.unsubackCodes)
		}
	}
}

// connackCode is the CONNACK return code of a refusal for protocol version
// v: MQTT 3 has six codes [MQTT-3.2.2-5], and mochi's own translation maps
// "bad user name or password" to "not authorized".
func connackCode(code packets.Code, v byte) packets.Code {
	if v == 5 {
		return code
	}
	switch code {
	case packets.ErrBadUsernameOrPassword:
		return packets.Code{Code: 0x04, Reason: "bad user name or password"}
	case packets.ErrNotAuthorized, packets.ErrBadAuthenticationMethod:
		return packets.Err3NotAuthorized
	case packets.ErrTopicNameInvalid:
		return packets.Err3ClientIdentifierNotValid // no better code in MQTT 3
	}
	return packets.Err3ServerUnavailable
}
