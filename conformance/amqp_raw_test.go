package conformance

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// rawClient speaks AMQP 0-9-1 frame by frame, for what a well-behaved client
// library never sends: malformed and out-of-order frames, silence instead of
// heartbeats.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	fr *wire.FrameReader
}

// rawOptions tune rawHandshake.
type rawOptions struct {
	user, pass string
	caps       core.Table
	heartbeat  uint16
	frameMax   uint32
	vhost      string
	noOpen     bool // stop after tune-ok
}

func newRawClient(t *testing.T, s *server) *rawClient {
	c := rawAMQP(t, s)
	return &rawClient{t: t, c: c, fr: wire.NewFrameReader(bufio.NewReader(c), 1<<20)}
}

// rawHandshake opens a connection frame by frame.
func rawHandshake(t *testing.T, s *server, o rawOptions) *rawClient {
	t.Helper()
	if o.user == "" {
		o.user, o.pass = "guest", "guest"
	}
	if o.vhost == "" {
		o.vhost = "/"
	}
	if o.frameMax == 0 {
		o.frameMax = 131072
	}
	r := newRawClient(t, s)
	r.write([]byte(wire.ProtocolHeader))
	r.expect(0, &wire.ConnectionStart{})
	r.send(0, &wire.ConnectionStartOk{ClientProperties: core.Table{"capabilities": o.caps}, Mechanism: "PLAIN",
		Response: []byte("\x00" + o.user + "\x00" + o.pass), Locale: "en_US"})
	tune := r.expect(0, &wire.ConnectionTune{}).(*wire.ConnectionTune)
	r.send(0, &wire.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: o.frameMax, Heartbeat: o.heartbeat})
	if o.noOpen {
		return r
	}
	r.send(0, &wire.ConnectionOpen{VirtualHost: o.vhost})
	r.expect(0, &wire.ConnectionOpenOk{})
	return r
}

func (r *rawClient) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawClient) send(ch uint16, m wire.Method) {
	r.t.Helper()
	b, err := wire.AppendMethodFrame(nil, ch, m)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(b)
}

// recv returns the next method and its channel, skipping heartbeats.
func (r *rawClient) recv() (uint16, wire.Method, error) {
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		if f.Type == wire.FrameHeartbeat {
			continue
		}
		if f.Type != wire.FrameMethod {
			continue // content of a method already returned
		}
		m, err := wire.DecodeMethod(f.Payload)
		return f.Channel, m, err
	}
}

// expect reads the next method and fails unless it is like want on ch.
func (r *rawClient) expect(ch uint16, want wire.Method) wire.Method {
	r.t.Helper()
	got, m, err := r.recv()
	if err != nil {
		r.t.Fatalf("waiting for %s: %v", want.Name(), err)
	}
	if got != ch || m.Name() != want.Name() {
		r.t.Fatalf("got %s on channel %d, want %s on channel %d: %+v", m.Name(), got, want.Name(), ch, m)
	}
	return m
}

// expectConnectionClose reads until connection.close and checks its code
// and, if not empty, its text; it answers close-ok and checks that the
// server then closes the socket.
func (r *rawClient) expectConnectionClose(code uint16, text string) *wire.ConnectionClose {
	r.t.Helper()
	for {
		ch, m, err := r.recv()
		if err != nil {
			r.t.Fatalf("waiting for connection.close %d: %v", code, err)
		}
		cl, ok := m.(*wire.ConnectionClose)
		if !ok {
			continue
		}
		if ch != 0 || cl.ReplyCode != code || (text != "" && cl.ReplyText != text) {
			r.t.Fatalf("connection.close %d %q on channel %d, want %d %q", cl.ReplyCode, cl.ReplyText, ch, code, text)
		}
		r.send(0, &wire.ConnectionCloseOk{})
		r.expectEOF()
		return cl
	}
}

// expectChannelClose reads until channel.close on ch and checks it.
func (r *rawClient) expectChannelClose(ch, code uint16, text string) {
	r.t.Helper()
	for {
		got, m, err := r.recv()
		if err != nil {
			r.t.Fatalf("waiting for channel.close %d: %v", code, err)
		}
		cl, ok := m.(*wire.ChannelClose)
		if !ok || got != ch {
			continue
		}
		if cl.ReplyCode != code || (text != "" && cl.ReplyText != text) {
			r.t.Fatalf("channel.close %d %q, want %d %q", cl.ReplyCode, cl.ReplyText, code, text)
		}
		r.send(ch, &wire.ChannelCloseOk{})
		return
	}
}

// expectEOF waits for the server to close the socket.
func (r *rawClient) expectEOF() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, err := r.fr.ReadFrame()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || !(errors.As(err, &ne) && ne.Timeout()) {
			return
		}
		r.t.Fatalf("server did not close the connection: %v", err)
	}
}

// openChannel opens channel ch.
func (r *rawClient) openChannel(ch uint16) {
	r.t.Helper()
	r.send(ch, &wire.ChannelOpen{})
	r.expect(ch, &wire.ChannelOpenOk{})
}
