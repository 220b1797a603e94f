package mqtt

import (
	"errors"
	"fmt"
	"io"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Reading and dispatching a connection's packets. They are read from the
// connection's own buffer (bufferedConn) and decoded with mochi's packets
// package; mochi's Client reader, with its buffer of its own, is not used,
// so the fill level of ours tells exactly whether a burst goes on.
//
// The packets of a message's flow — PUBLISH and the acknowledgements of
// deliveries — are handled here, with the checks mochi's processPacket and
// processPublish (server.go, v2.7.9) make. mochi's way for them cost a
// quarter of the broker's CPU per message through paho: ReadPacket copies
// the bytes twice, the 800-byte packets.Packet is passed by value through a
// dozen calls and hook loops, and for every QoS 1 and 2 PUBLISH, which this
// package answers itself, mochi's OnPublish boxes the packet for a debug log
// line that is never written. Other packets — SUBSCRIBE, UNSUBSCRIBE,
// PINGREQ, DISCONNECT, AUTH and the PUBRELs mochi answers from its in-flight
// list — go to mochi.

// readFixedHeader reads the next fixed header. The remaining length is
// checked against the maximum packet size before anything is allocated for
// it [MQTT-3.2.2-15] (mochi's ReadFixedHeader).
func (h *handler) readFixedHeader(fh *packets.FixedHeader) error {
	b, err := h.bc.br.ReadByte()
	if err != nil {
		return err
	}
	if err := fh.Decode(b); err != nil {
		return err
	}
	n, _, err := packets.DecodeLength(h.bc.br)
	if err != nil {
		return err
	}
	if max := h.s.mochi.Options.Capabilities.MaximumPacketSize; max > 0 && uint32(n+1) > max {
		return packets.ErrPacketTooLarge
	}
	fh.Remaining = n
	return nil
}

// readPacket reads and decodes the rest of the packet whose header is fh
// (mochi's ReadPacket). The bytes are read once into a buffer of their own,
// so a PUBLISH's payload may be a slice of it.
func (h *handler) readPacket(fh *packets.FixedHeader, pk *packets.Packet) error {
	*pk = packets.Packet{ProtocolVersion: h.cl.Properties.ProtocolVersion, FixedHeader: *fh}
	buf := make([]byte, fh.Remaining)
	if _, err := io.ReadFull(h.bc.br, buf); err != nil {
		return err
	}
	var err error
	switch fh.Type {
	case packets.Connect:
		err = pk.ConnectDecode(buf)
	case packets.Disconnect:
		err = pk.DisconnectDecode(buf)
	case packets.Publish:
		err = pk.PublishDecode(buf)
	case packets.Puback:
		err = pk.PubackDecode(buf)
	case packets.Pubrec:
		err = pk.PubrecDecode(buf)
	case packets.Pubrel:
		err = pk.PubrelDecode(buf)
	case packets.Pubcomp:
		err = pk.PubcompDecode(buf)
	case packets.Subscribe:
		err = pk.SubscribeDecode(buf)
	case packets.Unsubscribe:
		err = pk.UnsubscribeDecode(buf)
	case packets.Auth:
		err = pk.AuthDecode(buf)
	case packets.Pingreq:
	default:
		// CONNACK, SUBACK, UNSUBACK, PINGRESP or a reserved type: packets
		// only a server sends.
		err = fmt.Errorf("%w: packet type %d from a client", packets.ErrProtocolViolation, fh.Type)
	}
	return err
}

// receive reads the rest of the packet whose header is h.fh and processes
// it: a failure that has an MQTT 5 reason code is told to the client before
// the connection ends.
func (h *handler) receive(pk *packets.Packet) error {
	if err := h.readPacket(&h.fh, pk); err != nil {
		return h.failed(err)
	}
	c := h.c
	var err error
	switch pk.FixedHeader.Type {
	case packets.Publish:
		err = c.receivePublish(pk)
	case packets.Puback:
		c.completed(pk.PacketID, 1)
	case packets.Pubcomp:
		c.completed(pk.PacketID, 2)
	case packets.Pubrec:
		c.received(pk)
	case packets.Pubrel:
		if !c.released(pk.PacketID) {
			err = h.s.mochi.InjectPacket(h.cl, *pk)
		}
	default:
		err = h.s.mochi.InjectPacket(h.cl, *pk)
	}
	if err != nil {
		return h.failed(err)
	}
	return nil
}

// failed tells an MQTT 5 client the reason code of err, if it has one that
// is a failure, and returns err, which ends the connection.
func (h *handler) failed(err error) error {
	var code packets.Code
	if errors.As(err, &code) && h.cl.Properties.ProtocolVersion == 5 && code.Code >= packets.ErrUnspecifiedError.Code {
		_ = h.s.mochi.DisconnectClient(h.cl, code)
	}
	return err
}
