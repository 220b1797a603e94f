package conformance

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	"github.com/mqgate/mqgate/protocols/ws"
)

// MQTT conformance helpers: paho.mqtt.golang for MQTT 3.1.1, paho.golang for
// MQTT 5, over TCP or over WebSocket.

const mqttWait = 10 * time.Second

// transport says how a test client reaches the gateway.
type transport string

const (
	overTCP transport = "tcp"
	overWS  transport = "ws"
)

var transports = []transport{overTCP, overWS}

var clientSeq atomic.Int64

// clientID returns a client identifier unique in the test binary.
func clientID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, clientSeq.Add(1))
}

// v3 connects a paho.mqtt.golang (MQTT 3.1.1) client; edit adjusts the
// options (client id, clean session, credentials, will) before connecting.
func (s *server) v3(tr transport, edit func(*pahov3.ClientOptions)) pahov3.Client {
	s.t.Helper()
	c, err := s.v3try(tr, edit)
	if err != nil {
		s.t.Fatalf("mqtt 3.1.1 connect: %v", err)
	}
	return c
}

// v3try connects like v3 and returns the connection error.
func (s *server) v3try(tr transport, edit func(*pahov3.ClientOptions)) (pahov3.Client, error) {
	o := pahov3.NewClientOptions()
	if tr == overWS {
		o.AddBroker("ws://" + s.addr("web_mqtt") + "/ws")
	} else {
		o.AddBroker("tcp://" + s.addr("mqtt"))
	}
	o.SetClientID(clientID("v3"))
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetOrderMatters(true)
	o.SetKeepAlive(30 * time.Second)
	o.SetProtocolVersion(4)
	if edit != nil {
		edit(o)
	}
	c := pahov3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(mqttWait) {
		return nil, fmt.Errorf("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	s.t.Cleanup(func() {
		if c.IsConnected() {
			c.Disconnect(0)
		}
	})
	return c, nil
}

// await waits for a paho.mqtt.golang token and fails the test on error.
func await(t *testing.T, tok pahov3.Token) {
	t.Helper()
	if !tok.WaitTimeout(mqttWait) {
		t.Fatal("mqtt 3.1.1: timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("mqtt 3.1.1: %v", err)
	}
}

// inbox collects messages delivered to a client, in order.
type inbox[M any] struct {
	ch chan M
}

func newInbox[M any]() *inbox[M] { return &inbox[M]{ch: make(chan M, 20000)} }

func (b *inbox[M]) put(m M) { b.ch <- m }

// next returns the next message, failing the test after mqttWait.
func (b *inbox[M]) next(t *testing.T) M {
	t.Helper()
	select {
	case m := <-b.ch:
		return m
	case <-time.After(mqttWait):
		var zero M
		t.Fatal("no message arrived")
		return zero
	}
}

// none checks that no message arrives within d (used only after a later
// message in the same stream has arrived, so that d is a formality).
func (b *inbox[M]) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-b.ch:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(d):
	}
}

// v3sub subscribes c to filter at qos and returns its inbox.
func v3sub(t *testing.T, c pahov3.Client, filter string, qos byte) *inbox[pahov3.Message] {
	t.Helper()
	in := newInbox[pahov3.Message]()
	await(t, c.Subscribe(filter, qos, func(_ pahov3.Client, m pahov3.Message) { in.put(m) }))
	return in
}

// v5client is a paho.golang (MQTT 5) client and what it received.
type v5client struct {
	*paho.Client
	t       *testing.T
	connack *paho.Connack
	in      *inbox[*paho.Publish]
	conn    net.Conn
	gone    chan *paho.Disconnect // DISCONNECT from the server
}

// v5 connects a paho.golang client with cp (client id and clean start
// filled in when empty).
func (s *server) v5(tr transport, cp *paho.Connect, edit func(*paho.ClientConfig)) *v5client {
	s.t.Helper()
	c, err := s.v5try(tr, cp, edit)
	if err != nil {
		s.t.Fatalf("mqtt 5 connect: %v", err)
	}
	return c
}

// v5try connects like v5 and returns the connection error (with the
// CONNACK, if one came).
func (s *server) v5try(tr transport, cp *paho.Connect, edit func(*paho.ClientConfig)) (*v5client, error) {
	t := s.t
	nc, err := s.dialMQTT(tr)
	if err != nil {
		return nil, err
	}
	in := newInbox[*paho.Publish]()
	c := &v5client{t: t, in: in, conn: nc, gone: make(chan *paho.Disconnect, 1)}
	cfg := paho.ClientConfig{Conn: nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			in.put(pr.Packet)
			return true, nil
		}},
		OnServerDisconnect: func(d *paho.Disconnect) { c.gone <- d },
		OnClientError:      func(error) {},
	}
	if edit != nil {
		edit(&cfg)
	}
	c.conn = cfg.Conn
	c.Client = paho.NewClient(cfg)
	if cp == nil {
		cp = &paho.Connect{CleanStart: true}
	}
	if cp.ClientID == "" && cp.Properties == nil {
		cp.ClientID = clientID("v5")
	}
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), mqttWait)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	c.connack = ca
	if err != nil {
		_ = nc.Close()
		return c, err
	}
	t.Cleanup(func() {
		_ = c.Disconnect(&paho.Disconnect{})
		_ = nc.Close()
	})
	return c, nil
}

// dialMQTT opens a network connection to the MQTT door or, over WebSocket,
// to web_mqtt's /mqtt path with the "mqtt" subprotocol.
func (s *server) dialMQTT(tr transport) (net.Conn, error) {
	if tr == overTCP {
		return net.DialTimeout("tcp", s.addr("mqtt"), mqttWait)
	}
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: mqttWait}
	wsc, resp, err := d.Dial("ws://"+s.addr("web_mqtt")+"/mqtt", http.Header{})
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if wsc.Subprotocol() != "mqtt" {
		return nil, fmt.Errorf("subprotocol %q, want mqtt", wsc.Subprotocol())
	}
	// paho.golang writes a packet in several Writes, from more than one
	// goroutine; a sync.Locker connection makes it hold the lock across them.
	return packets.NewThreadSafeConn(ws.Wrap(wsc, false)), nil
}

func ctxWait(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), mqttWait)
	t.Cleanup(cancel)
	return ctx
}

// subscribe subscribes to filter with opts (Topic set from filter).
func (c *v5client) subscribe(filter string, qos byte, edit func(*paho.Subscribe)) *paho.Suback {
	c.t.Helper()
	sb := &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}}
	if edit != nil {
		edit(sb)
	}
	sa, err := c.Subscribe(ctxWait(c.t), sb)
	if err != nil {
		c.t.Fatalf("subscribe %q: %v", filter, err)
	}
	return sa
}

// publish publishes and fails the test on error.
func (c *v5client) publish(p *paho.Publish) *paho.PublishResponse {
	c.t.Helper()
	r, err := c.Publish(ctxWait(c.t), p)
	if err != nil {
		c.t.Fatalf("publish %q: %v", p.Topic, err)
	}
	return r
}

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }

func payloads[M any](t *testing.T, in *inbox[M], n int, body func(M) string) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = body(in.next(t))
	}
	return out
}

func v3body(m pahov3.Message) string { return string(m.Payload()) }
func v5body(m *paho.Publish) string  { return string(m.Payload) }

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// with returns s for use in subtest t (its helpers fail t, clean up with t).
func (s *server) with(t *testing.T) *server {
	c := *s
	c.t = t
	return &c
}
