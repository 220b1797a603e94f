package conformance

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// QoS 2 is exactly once across a forced reconnect, both ways: the
// connection is cut at each step of the PUBLISH, PUBREC, PUBREL, PUBCOMP
// exchange, the client resumes its session (paho.golang keeps the session
// state) and the message reaches the subscriber once.
func TestMQTTQoS2ExactlyOnceAcrossReconnect(t *testing.T) {
	const (
		typPublish = 3
		typPubrec  = 5
		typPubrel  = 6
		typPubcomp = 7
	)
	cases := []struct {
		name      string
		publisher bool // cut the publisher's connection, else the subscriber's
		typ       byte
		before    bool // cut instead of writing the packet, else right after writing it
	}{
		{"publisher cut after PUBLISH", true, typPublish, false},
		{"publisher cut before PUBREL", true, typPubrel, true},
		{"publisher cut after PUBREL", true, typPubrel, false},
		{"subscriber cut before PUBREC", false, typPubrec, true},
		{"subscriber cut after PUBREC", false, typPubrec, false},
		{"subscriber cut before PUBCOMP", false, typPubcomp, true},
	}
	s := startServer(t, options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			topic := "qos2/" + clientID("t")
			subRes := newResumable(s, "sub")
			sub := subRes.connect(t, true, nil)
			sub.subscribe(topic, 2, nil)
			pubRes := newResumable(s, "pub")
			pub := pubRes.connect(t, true, nil)

			victim, res := sub, subRes
			if tc.publisher {
				victim, res = pub, pubRes
			}
			cut := victim.conn.(*cutConn)
			cut.arm(tc.typ, tc.before)
			// The publish call outlives the cut: paho.golang answers it when the
			// resumed session completes the exchange.
			result := make(chan error, 1)
			go func() {
				r, err := pub.Publish(ctxWait(t), &paho.Publish{Topic: topic, QoS: 2, Payload: []byte("once")})
				if err == nil && r.ReasonCode >= 0x80 {
					err = fmt.Errorf("reason code %#x %q", r.ReasonCode, r.Properties.ReasonString)
				}
				result <- err
			}()
			<-cut.done
			<-victim.Done()
			resumed := res.connect(t, false, victim.in)
			if !resumed.connack.SessionPresent {
				t.Fatal("Session Present not set on resume")
			}
			if tc.publisher {
				if err := <-result; err != nil {
					t.Fatalf("resumed publish: %v", err)
				}
			}
			if got := v5body(sub.in.next(t)); got != "once" {
				t.Fatalf("got %q", got)
			}
			// A marker published after it arrives after it; nothing came twice.
			marker := s.v5(overTCP, nil, nil)
			marker.publish(&paho.Publish{Topic: topic, QoS: 2, Payload: []byte("marker")})
			if got := v5body(sub.in.next(t)); got != "marker" {
				t.Fatalf("got %q after the message, want the marker: delivered twice", got)
			}
		})
	}
}

// resumable is an MQTT 5 client that can reconnect to its session with its
// session state (paho.golang's State), over a connection the test can cut.
type resumable struct {
	s     *server
	id    string
	state *state.State
}

func newResumable(s *server, prefix string) *resumable {
	return &resumable{s: s, id: clientID(prefix), state: state.NewInMemory()}
}

// connect connects with clean start or resumes; in, if not nil, keeps
// receiving into the inbox of the previous connection.
func (r *resumable) connect(t *testing.T, clean bool, in *inbox[*paho.Publish]) *v5client {
	t.Helper()
	cp := &paho.Connect{ClientID: r.id, CleanStart: clean, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(300)}}
	c := r.s.v5(overTCP, cp, func(cfg *paho.ClientConfig) {
		cfg.Conn = &cutConn{Conn: cfg.Conn, done: make(chan struct{})}
		cfg.Session = r.state
	})
	if in != nil {
		// Deliveries of the resumed connection go to the same inbox.
		own := c.in
		go func() {
			for m := range own.ch {
				in.put(m)
			}
		}()
		c.in = in
	}
	return c
}

// cutConn closes its connection when the client writes a given packet type:
// instead of writing it (before), or right after it is written. Writes of
// one packet come as a fixed header, then the rest (paho.golang writes
// net.Buffers one by one to a connection that is not a *net.TCPConn, holding
// the connection's lock, as a sync.Locker, across them).
type cutConn struct {
	net.Conn
	sync.Mutex // the packet lock paho.golang takes
	mu         sync.Mutex
	typ        byte
	before     bool
	armed      bool
	rest       int  // bytes of the current packet still to come
	cutNow     bool // cut once the current packet is written
	done       chan struct{}
	once       sync.Once
}

func (c *cutConn) arm(typ byte, before bool) {
	c.mu.Lock()
	c.typ, c.before, c.armed = typ, before, true
	c.mu.Unlock()
}

func (c *cutConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rest == 0 && len(p) >= 2 {
		// A fixed header: type, then the remaining length.
		n, mul := 0, 1
		for _, b := range p[1:] {
			n += int(b&0x7f) * mul
			mul *= 128
			if b&0x80 == 0 {
				break
			}
		}
		c.rest = n + len(p) // what follows, plus this write, counted down below
		if c.armed && p[0]>>4 == c.typ {
			c.armed = false
			if c.before {
				c.cut()
				return 0, net.ErrClosed
			}
			c.cutNow = true
		}
	}
	n, err := c.Conn.Write(p)
	c.rest -= n
	if c.rest <= 0 {
		c.rest = 0
		if c.cutNow {
			c.cutNow = false
			c.cut()
		}
	}
	return n, err
}

func (c *cutConn) cut() {
	c.once.Do(func() {
		_ = c.Conn.Close()
		close(c.done)
	})
}
