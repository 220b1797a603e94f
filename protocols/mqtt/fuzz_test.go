package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// newTestServer runs the front-end on a memory broker with vhost "/" and
// user guest.
func newTestServer(t testing.TB, edit func(*Config)) *Server {
	t.Helper()
	b, err := core.New(core.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{b.AddVHost("/"), b.PutUser("guest", "guest", nil),
		b.SetPermissions("guest", "/", ".*", ".*", ".*")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	s := New(cfg, b, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		_ = s.Shutdown(contextWithTimeout(t, 5*time.Second))
		_ = b.Close()
	})
	return s
}

// encode builds packet bytes with mochi's codec for protocol version v.
func encode(t testing.TB, v byte, pks ...packets.Packet) []byte {
	var b bytes.Buffer
	for _, pk := range pks {
		pk.ProtocolVersion = v
		pk.Mods.AllowResponseInfo = true
		var err error
		switch pk.FixedHeader.Type {
		case packets.Connect:
			err = pk.ConnectEncode(&b)
		case packets.Publish:
			err = pk.PublishEncode(&b)
		case packets.Puback:
			err = pk.PubackEncode(&b)
		case packets.Pubrec:
			err = pk.PubrecEncode(&b)
		case packets.Pubrel:
			err = pk.PubrelEncode(&b)
		case packets.Pubcomp:
			err = pk.PubcompEncode(&b)
		case packets.Subscribe:
			err = pk.SubscribeEncode(&b)
		case packets.Unsubscribe:
			err = pk.UnsubscribeEncode(&b)
		case packets.Pingreq:
			err = pk.PingreqEncode(&b)
		case packets.Disconnect:
			err = pk.DisconnectEncode(&b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func connectPacket(v byte, id string, clean bool, will bool) packets.Packet {
	name := []byte("MQTT")
	if v == 3 {
		name = []byte("MQIsdp")
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{ProtocolName: name, Clean: clean, Keepalive: 30, ClientIdentifier: id}}
	if v == 5 && !clean {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 60, true
	}
	if will {
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload, pk.Connect.WillQos = true, "w/t", []byte("bye"), 1
		if v == 5 {
			pk.Connect.WillProperties = packets.Properties{ContentType: "text/plain", WillDelayInterval: 1,
				User: []packets.UserProperty{{Key: "k", Val: "v"}}}
		}
	}
	return pk
}

// session is a typical exchange: subscribe, publish at every QoS, complete
// the QoS 2 flow, acknowledge deliveries, retained, unsubscribe.
func sessionSeed(t testing.TB, v byte) []byte {
	pub := func(qos byte, pid uint16, retain bool, topic string) packets.Packet {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain},
			PacketID: pid, TopicName: topic, Payload: []byte("payload")}
		if v == 5 {
			pk.Properties = packets.Properties{ContentType: "c", CorrelationData: []byte{1}, ResponseTopic: "r/t",
				MessageExpiryInterval: 9, User: []packets.UserProperty{{Key: "a", Val: "b"}, {Key: "a", Val: "c"}}}
		}
		return pk
	}
	return encode(t, v,
		connectPacket(v, "fuzz", v != 5, true),
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: "f/#", Qos: 2}, {Filter: "$share/g/f/+", Qos: 1}, {Filter: "f/+/x", Qos: 0}}},
		pub(0, 0, false, "f/a"), pub(1, 2, false, "f/a"), pub(2, 3, true, "f/b"),
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1}, PacketID: 3},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: 1},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: 2},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubcomp}, PacketID: 2},
		pub(2, 3, false, "f/c"), pub(2, 3, false, "f/c"),
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1}, PacketID: 4,
			Filters: packets.Subscriptions{{Filter: "f/#"}}},
		packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}},
	)
}

// serve runs input through one loopback TCP connection of s and returns
// the types of the packets s answers: until enough returns true for them
// (nil: until s closes, input's end being the end of what the client sends).
// It fails if the connection does not end in time (a hang).
func serve(t testing.TB, s *Server, input []byte, enough func(map[byte]int) bool) map[byte]int {
	types := map[byte]int{}
	converse(t, s, 0, input, enough == nil, func(pk *packets.Packet) bool {
		types[pk.FixedHeader.Type]++
		return enough != nil && enough(types)
	})
	return types
}

// converse writes input on a loopback TCP connection to s, closing its
// writing side after it when closeWrite is set, and passes each packet s
// answers to each until each returns true or s closes the connection; then
// it closes its side. For protocol version v (0: none), CONNACK, PUBACK and
// DISCONNECT are decoded; of other packets, and of every packet without v,
// only the fixed header is. It fails if the connection does not end in time.
func converse(t testing.TB, s *Server, v byte, input []byte, closeWrite bool, each func(*packets.Packet) bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // loopback: guest may connect anonymously
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		if c, err := ln.Accept(); err == nil {
			s.ServeConn("test", c)
		}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		_, _ = client.Write(input)
		if closeWrite {
			_ = client.(*net.TCPConn).CloseWrite()
		}
	}()
	r := bufio.NewReader(client)
	for {
		var pk packets.Packet
		b, err := r.ReadByte()
		if err == nil {
			err = pk.FixedHeader.Decode(b)
		}
		if err == nil {
			pk.FixedHeader.Remaining, _, err = packets.DecodeLength(r)
		}
		body := make([]byte, pk.FixedHeader.Remaining)
		if err == nil {
			_, err = io.ReadFull(r, body)
		}
		if err != nil {
			break
		}
		if pk.ProtocolVersion = v; v != 0 {
			switch pk.FixedHeader.Type {
			case packets.Connack:
				err = pk.ConnackDecode(body)
			case packets.Disconnect:
				err = pk.DisconnectDecode(body)
			case packets.Puback:
				err = pk.PubackDecode(body)
			}
			if err != nil {
				t.Fatalf("%s: %v", packets.PacketNames[pk.FixedHeader.Type], err)
			}
		}
		if each(&pk) {
			break
		}
	}
	_ = client.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatalf("connection did not end for input %q", input)
	}
}

// FuzzServeConn feeds arbitrary bytes to the front-end as a client would:
// nothing may panic out of ServeConn, hang, or allocate beyond the packet
// size limit (checked by readFixedHeader before a packet's body is read).
func FuzzServeConn(f *testing.F) {
	for _, v := range []byte{3, 4, 5} {
		f.Add(sessionSeed(f, v))
		f.Add(encode(f, v, connectPacket(v, "", true, false)))
	}
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0x7f})                   // CONNECT claiming 256 MiB
	f.Add([]byte{0x30, 0x02, 0x00, 0x00})                         // PUBLISH before CONNECT
	f.Add(append(sessionSeed(f, 5)[:40], 0x82, 0x04, 0, 1, 0, 0)) // a truncated session
	s := newTestServer(f, func(c *Config) { c.MaxPacketSize = 64 << 10 })
	f.Fuzz(func(t *testing.T, input []byte) {
		c := &memConn{r: bytes.NewReader(input)}
		ended := make(chan struct{})
		go func() {
			s.ServeConn("fuzz", c)
			close(ended)
		}()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection did not end for input %q", input)
		}
	})
}

// memConn is a client connection in memory: reads return the input, then
// EOF; writes are discarded.
type memConn struct {
	r      *bytes.Reader
	mu     sync.Mutex
	closed bool
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}

func (c *memConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func (*memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1883} }
func (*memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (*memConn) SetDeadline(time.Time) error      { return nil }
func (*memConn) SetReadDeadline(time.Time) error  { return nil }
func (*memConn) SetWriteDeadline(time.Time) error { return nil }

// The seeds do what they say: the session seed gets its CONNACK, SUBACK,
// acknowledgements and deliveries.
func TestFuzzSeedsExercise(t *testing.T) {
	s := newTestServer(t, nil)
	want := []byte{packets.Connack, packets.Suback, packets.Puback, packets.Pubrec, packets.Pubcomp,
		packets.Publish, packets.Pingresp, packets.Unsuback}
	for _, v := range []byte{3, 4, 5} {
		seed := sessionSeed(t, v)
		seed = seed[:len(seed)-2] // without its DISCONNECT: the connection stays until all is read
		types := serve(t, s, seed, func(types map[byte]int) bool {
			for _, w := range want {
				if types[w] == 0 {
					return false
				}
			}
			return true
		})
		for _, w := range want {
			if types[w] == 0 {
				t.Errorf("v%d: no %s in the answer (%v)", v, packets.PacketNames[w], types)
			}
		}
	}
}

func contextWithTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
