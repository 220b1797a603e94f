package mqtt

import (
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook connects mochi's packet events to the front-end, for the packets
// mochi processes (a connection's own steps, CONNECT to disconnection, are
// called in line by serve.go, and PUBLISH and the acknowledgements of
// deliveries never reach mochi: receive.go). Which event does what, in
// mochi v2.7.9 (server.go):
//
//   - OnACLCheck authorizes each subscription filter.
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
	case mochi.OnACLCheck, mochi.OnPacketEncode, mochi.OnPacketProcessed,
		mochi.OnSubscribed, mochi.OnUnsubscribe:
		return true
	}
	return false
}

// OnACLCheck is asked for each subscription filter (read); publishes never
// reach mochi (write).
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	c := h.s.connOf(cl.Net.Conn)
	if c == nil || write {
		return false
	}
	if _, inner, ok := splitShared(topic); ok {
		topic = inner
	}
	return allowed(h.s.cfg.ACL, c.subject(), true, topic)
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
