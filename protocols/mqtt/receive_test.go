package mqtt

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// TestBadPacketsEndTheConnectionWithTheirReason: an MQTT 5 client that
// sends a packet beyond the maximum packet size, or a packet only a server
// sends, gets a DISCONNECT with the reason code before the connection ends
// [MQTT-3.2.2-15]; an MQTT 3.1.1 client is only disconnected.
func TestBadPacketsEndTheConnectionWithTheirReason(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.MaxPacketSize = 1024 })
	big := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 1,
		TopicName: "t", Payload: make([]byte, 2000)}
	connack := []byte{packets.Connack << 4, 3, 0, 0, 0} // what only a server sends
	for _, tc := range []struct {
		name   string
		v      byte
		bad    []byte
		reason byte // of the DISCONNECT; 0: none expected
	}{
		{"too large, v5", 5, encode(t, 5, big), packets.ErrPacketTooLarge.Code},
		{"server packet, v5", 5, connack, packets.ErrProtocolViolation.Code},
		{"too large, v3.1.1", 4, encode(t, 4, big), 0},
		{"server packet, v3.1.1", 4, connack, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := append(encode(t, tc.v, connectPacket(tc.v, "bad", true, false)), tc.bad...)
			answer := exchange(t, s, tc.v, input)
			if len(answer) == 0 || answer[0].FixedHeader.Type != packets.Connack || answer[0].ReasonCode != 0 {
				t.Fatalf("answer %v: want a CONNACK that accepts first", answer)
			}
			var disconnect *packets.Packet
			for i := range answer[1:] {
				if answer[1+i].FixedHeader.Type == packets.Disconnect {
					disconnect = &answer[1+i]
				}
			}
			switch {
			case tc.reason == 0 && disconnect != nil:
				t.Fatalf("an MQTT 3 client got a DISCONNECT")
			case tc.reason != 0 && disconnect == nil:
				t.Fatalf("no DISCONNECT in the answer %v", answer)
			case tc.reason != 0 && disconnect.ReasonCode != tc.reason:
				t.Fatalf("DISCONNECT reason %#x, want %#x", disconnect.ReasonCode, tc.reason)
			}
		})
	}
}

// exchange writes input on a connection to s and returns the packets s
// answers, decoded for protocol version v, until it closes the connection,
// which it must do in time.
func exchange(t *testing.T, s *Server, v byte, input []byte) []packets.Packet {
	t.Helper()
	var out []packets.Packet
	converse(t, s, v, input, true, func(pk *packets.Packet) bool {
		out = append(out, *pk)
		return false
	})
	return out
}

// TestPublishToSYSIsRefused: a PUBLISH to a $SYS topic gets a negative
// PUBACK (0x90, Topic Name invalid) from MQTT 5; an MQTT 3.1.1 client, which
// has no negative acknowledgement, is disconnected, as for a publish it is
// not allowed.
func TestPublishToSYSIsRefused(t *testing.T) {
	s := newTestServer(t, nil)
	pub := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 7,
		TopicName: "$SYS/broker/x", Payload: []byte("p")}
	bye := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}}
	answer := exchange(t, s, 5, encode(t, 5, connectPacket(5, "sys5", true, false), pub, bye))
	if len(answer) != 2 || answer[1].FixedHeader.Type != packets.Puback || answer[1].PacketID != 7 ||
		answer[1].ReasonCode != packets.ErrTopicNameInvalid.Code {
		t.Fatalf("MQTT 5: answer %+v, want CONNACK and PUBACK 7 with 0x90", answer)
	}
	answer = exchange(t, s, 4, encode(t, 4, connectPacket(4, "sys4", true, false), pub, bye))
	if len(answer) != 1 {
		t.Fatalf("MQTT 3.1.1: answer %+v, want only the CONNACK, then the connection closed", answer)
	}
}
