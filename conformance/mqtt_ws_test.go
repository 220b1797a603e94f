package conformance

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/protocols/ws"
)

// MQTT over WebSocket as a byte stream: an MQTT 3.1 client (subprotocol
// mqttv3.1, protocol name MQIsdp) whose CONNECT is split across two
// WebSocket messages, the second sent as several frames, and whose
// SUBSCRIBE and PUBLISH share one message. Packets are built with mochi's
// codec, the connection is gorilla's.
func TestMQTTWebSocketFraming(t *testing.T) {
	s := startServer(t, options{})
	d := websocket.Dialer{Subprotocols: []string{"mqttv3.1"}, WriteBufferSize: 16, HandshakeTimeout: mqttWait}
	wsc, resp, err := d.Dial("ws://"+s.addr("web_mqtt")+"/ws", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = wsc.Close() })
	if wsc.Subprotocol() != "mqttv3.1" {
		t.Fatalf("subprotocol %q", wsc.Subprotocol())
	}
	enc := func(pk packets.Packet) []byte {
		var b bytes.Buffer
		pk.ProtocolVersion = 3
		var err error
		switch pk.FixedHeader.Type {
		case packets.Connect:
			err = pk.ConnectEncode(&b)
		case packets.Subscribe:
			err = pk.SubscribeEncode(&b)
		case packets.Publish:
			err = pk.PublishEncode(&b)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	connect := enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{ProtocolName: []byte("MQIsdp"), Clean: true, Keepalive: 30, ClientIdentifier: "ws31"}})
	for _, part := range [][]byte{connect[:5], connect[5:]} {
		if err := wsc.WriteMessage(websocket.BinaryMessage, part); err != nil {
			t.Fatal(err)
		}
	}
	both := append(enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: "wsf/#", Qos: 1}}}),
		enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 2,
			TopicName: "wsf/t", Payload: []byte("framed")})...)
	if err := wsc.WriteMessage(websocket.BinaryMessage, both); err != nil {
		t.Fatal(err)
	}
	// Read the stream back, whatever its framing: CONNACK, SUBACK, then
	// PUBACK and PUBLISH in either order.
	_ = wsc.SetReadDeadline(time.Now().Add(mqttWait))
	r := bufio.NewReader(ws.Wrap(wsc, false))
	read := func() packets.Packet {
		t.Helper()
		var fh packets.FixedHeader
		b, err := r.ReadByte()
		if err == nil {
			err = fh.Decode(b)
		}
		if err == nil {
			fh.Remaining, _, err = packets.DecodeLength(r)
		}
		body := make([]byte, fh.Remaining)
		if err == nil {
			_, err = io.ReadFull(r, body)
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		pk := packets.Packet{FixedHeader: fh, ProtocolVersion: 3}
		switch fh.Type {
		case packets.Publish:
			err = pk.PublishDecode(body)
		case packets.Connack:
			err = pk.ConnackDecode(body)
		}
		if err != nil {
			t.Fatal(err)
		}
		return pk
	}
	if pk := read(); pk.FixedHeader.Type != packets.Connack || pk.ReasonCode != 0 {
		t.Fatalf("first packet %v code %d, want CONNACK 0", pk.FixedHeader.Type, pk.ReasonCode)
	}
	if pk := read(); pk.FixedHeader.Type != packets.Suback {
		t.Fatalf("second packet %v, want SUBACK", pk.FixedHeader.Type)
	}
	got := map[byte]packets.Packet{}
	for range 2 {
		pk := read()
		got[pk.FixedHeader.Type] = pk
	}
	if p, ok := got[packets.Publish]; !ok || string(p.Payload) != "framed" || p.TopicName != "wsf/t" {
		t.Fatalf("no PUBLISH of the message: %+v", got)
	}
	if _, ok := got[packets.Puback]; !ok {
		t.Fatalf("no PUBACK: %+v", got)
	}
}

// The web_mqtt door refuses subprotocols it does not speak, and checks the
// Origin when configured to.
func TestMQTTWebSocketHandshake(t *testing.T) {
	s := startServer(t, options{edit: func(c *gateway.Config) {
		c.WebSocket.AllowedOrigins = []string{"https://dashboard.example"}
	}})
	for _, tc := range []struct {
		proto, origin string
		status        int
	}{
		{"mqtt", "https://dashboard.example", 101},
		{"mqtt", "", 101},
		{"v12.stomp", "", 400},
		{"mqtt", "https://elsewhere.example", 403},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		d := websocket.Dialer{Subprotocols: []string{tc.proto}, HandshakeTimeout: mqttWait}
		c, resp, _ := d.Dial("ws://"+s.addr("web_mqtt")+"/mqtt", h)
		if c != nil {
			_ = c.Close()
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%+v: response %v", tc, resp)
		}
		_ = resp.Body.Close()
	}
}
