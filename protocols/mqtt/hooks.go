package mqtt

import (
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook connects mochi's packet events to the front-end (a connection's
// own steps, CONNECT to disconnection, are called in line by serve.go).
// Which event does what, in mochi v2.7.9 (server.go):
//
//   - OnPublish publishes into core and returns packets.ErrRejectPacket
//     (QoS 1, 2: mochi writes nothing, the PUBACK or PUBREC is written here
//     once core confirms) or packets.CodeSuccessIgnore (QoS 0: mochi neither
//     fans out nor retains).
//   - OnPacketRead takes the client's PUBACK, PUBREC and PUBCOMP, which
//     concern deliveries this package made, and hands mochi a PUBCOMP for
//     packet identifier 0 in their place, which it ignores.
//   - OnSubscribed binds (and may turn a granted QoS into a failure: the
//     SUBACK mochi writes next uses the same slice); OnUnsubscribe unbinds.
//   - OnPacketEncode sets the CONNACK's limits and the UNSUBACK's reason
//     codes from this package's state.
type hook struct {
	mochi.HookBase
	s *Server
}

func (h *hook) ID() string { return "mqgate" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mochi.OnACLCheck, mochi.OnPacketRead, mochi.OnPacketEncode, mochi.OnPacketProcessed,
		mochi.OnSubscribed, mochi.OnUnsubscribe, mochi.OnPublish:
		return true
	}
	return false
}

// OnACLCheck is asked for a publish topic (write), which OnPublish checks
// itself, and for each subscription filter (read).
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	c := h.s.connOf(cl.Net.Conn)
	if c == nil {
		return false
	}
	if write {
		return true
	}
	if _, inner, ok := splitShared(topic); ok {
		topic = inner
	}
	return allowed(h.s.cfg.ACL, c.subject(), true, topic)
}

func (h *hook) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	c := h.s.connOf(cl.Net.Conn)
	if c == nil || c.sess == nil {
		return pk, nil
	}
	return c.packetRead(pk), nil
}

func (h *hook) OnPacketEncode(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if c := h.s.connOf(cl.Net.Conn); c != nil {
		c.packetEncode(&pk)
	}
	return pk
}

func (h *hook) OnPacketProcessed(cl *mochi.Client, pk packets.Packet, err error) {
	if pk.FixedHeader.Type != packets.Subscribe || err != nil {
		return
	}
	if c := h.s.connOf(cl.Net.Conn); c != nil {
		c.sendRetained()
	}
}

func (h *hook) OnSubscribed(cl *mochi.Client, pk packets.Packet, reasonCodes []byte) {
	if c := h.s.connOf(cl.Net.Conn); c != nil {
		c.subscribed(pk, reasonCodes)
	}
}

func (h *hook) OnUnsubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if c := h.s.connOf(cl.Net.Conn); c != nil {
		c.unsubscribe(pk)
	}
	return pk
}

func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	c := h.s.connOf(cl.Net.Conn)
	if c == nil || c.sess == nil {
		return pk, packets.ErrRejectPacket
	}
	return pk, c.publish(pk)
}
