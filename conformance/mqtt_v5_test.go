package conformance

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/protocols/mqtt"
)

// MQTT 5 message properties pass through unchanged, user properties in
// order and with repeated names [MQTT-3.3.2-17] [MQTT-3.3.2-18], the
// message expiry counted down [MQTT-3.3.2-6], over TCP and WebSocket.
func TestMQTTV5MessageProperties(t *testing.T) {
	s := startServer(t, options{})
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := s.with(t)
			sub := s.v5(tr, nil, nil)
			sub.subscribe("props/#", 2, nil)
			pub := s.v5(tr, nil, nil)
			pf := byte(1)
			in := &paho.PublishProperties{ContentType: "application/json", CorrelationData: []byte{0, 1, 2, 0xff},
				ResponseTopic: "props/reply/v1.0", PayloadFormat: &pf, MessageExpiry: u32(120),
				User: paho.UserProperties{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}, {Key: "b", Value: "3"}}}
			pub.publish(&paho.Publish{Topic: "props/a.b/c", QoS: 2, Payload: []byte(`{"x":1}`), Properties: in})
			m := sub.in.next(t)
			p := m.Properties
			if m.Topic != "props/a.b/c" || p.ContentType != in.ContentType || !bytes.Equal(p.CorrelationData, in.CorrelationData) ||
				p.ResponseTopic != in.ResponseTopic || p.PayloadFormat == nil || *p.PayloadFormat != 1 ||
				p.MessageExpiry == nil || *p.MessageExpiry > 120 || *p.MessageExpiry < 110 {
				t.Fatalf("got %q %+v", m.Topic, p)
			}
			if fmt.Sprint(p.User) != fmt.Sprint(in.User) {
				t.Fatalf("user properties %v, want %v in order", p.User, in.User)
			}
		})
	}
}

// Request/response: the responder answers on the response topic with the
// correlation data.
func TestMQTTV5RequestResponse(t *testing.T) {
	s := startServer(t, options{})
	responder := s.v5(overTCP, nil, nil)
	responder.subscribe("rpc/request", 1, nil)
	requester := s.v5(overWS, nil, nil)
	requester.subscribe("rpc/reply/+", 1, nil)
	requester.publish(&paho.Publish{Topic: "rpc/request", QoS: 1, Payload: []byte("ping"),
		Properties: &paho.PublishProperties{ResponseTopic: "rpc/reply/42", CorrelationData: []byte("id-7")}})
	req := responder.in.next(t)
	responder.publish(&paho.Publish{Topic: req.Properties.ResponseTopic, QoS: 1, Payload: []byte("pong"),
		Properties: &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData}})
	resp := requester.in.next(t)
	if string(resp.Payload) != "pong" || string(resp.Properties.CorrelationData) != "id-7" || resp.Topic != "rpc/reply/42" {
		t.Fatalf("response %q on %q, correlation %q", resp.Payload, resp.Topic, resp.Properties.CorrelationData)
	}
}

// CONNACK: assigned client identifier, limits, server keep-alive.
func TestMQTTV5Connack(t *testing.T) {
	s := startServer(t, options{edit: func(c *gateway.Config) { c.MQTT.ServerKeepAlive = 20 }})
	c := s.v5(overTCP, &paho.Connect{CleanStart: true, KeepAlive: 0, Properties: &paho.ConnectProperties{}}, nil)
	p := c.connack.Properties
	if p.AssignedClientID == "" {
		t.Fatal("no assigned client identifier for an empty one [MQTT-3.2.2-16]")
	}
	if p.ServerKeepAlive == nil || *p.ServerKeepAlive != 20 {
		t.Fatalf("server keep alive %v, want 20", p.ServerKeepAlive)
	}
	def := mqtt.DefaultConfig()
	if p.TopicAliasMaximum == nil || *p.TopicAliasMaximum != def.TopicAliasMaximum {
		t.Fatalf("topic alias maximum %v", p.TopicAliasMaximum)
	}
	if p.MaximumPacketSize == nil || *p.MaximumPacketSize != def.MaxPacketSize {
		t.Fatalf("maximum packet size %v", p.MaximumPacketSize)
	}
	if p.ReceiveMaximum == nil || *p.ReceiveMaximum != def.ReceiveMaximum {
		t.Fatalf("receive maximum %v", p.ReceiveMaximum)
	}
	// The assigned identifier works: a message reaches the client.
	c.subscribe("assigned/t", 0, nil)
	c.publish(&paho.Publish{Topic: "assigned/t", Payload: []byte("hi")})
	if got := v5body(c.in.next(t)); got != "hi" {
		t.Fatalf("got %q", got)
	}
}

// Topic aliases both ways: the client publishes with an alias; the server
// gives the subscriber one and then sends the alias alone [MQTT-3.3.2-12].
func TestMQTTV5TopicAliases(t *testing.T) {
	s := startServer(t, options{})
	sub := s.v5(overTCP, &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{TopicAliasMaximum: u16(5)}}, nil)
	sub.subscribe("alias/#", 1, nil)
	pub := s.v5(overTCP, nil, nil)
	pub.publish(&paho.Publish{Topic: "alias/long/topic/name", QoS: 1, Payload: []byte("1"),
		Properties: &paho.PublishProperties{TopicAlias: u16(3)}})
	pub.publish(&paho.Publish{Topic: "", QoS: 1, Payload: []byte("2"), Properties: &paho.PublishProperties{TopicAlias: u16(3)}})
	first, second := sub.in.next(t), sub.in.next(t)
	if string(first.Payload) != "1" || first.Topic != "alias/long/topic/name" || first.Properties.TopicAlias == nil {
		t.Fatalf("first: %q on %q alias %v", first.Payload, first.Topic, first.Properties.TopicAlias)
	}
	if string(second.Payload) != "2" || second.Topic != "" || second.Properties.TopicAlias == nil ||
		*second.Properties.TopicAlias != *first.Properties.TopicAlias {
		t.Fatalf("second: %q on %q alias %v (first alias %d)", second.Payload, second.Topic, second.Properties.TopicAlias,
			*first.Properties.TopicAlias)
	}
}

// Subscription identifiers and No Local [MQTT-3.3.4-3] [MQTT-3.8.3-3].
func TestMQTTV5SubscriptionIdentifierAndNoLocal(t *testing.T) {
	s := startServer(t, options{})
	c := s.v5(overTCP, nil, nil)
	c.subscribe("subid/#", 1, func(sb *paho.Subscribe) {
		sb.Properties = &paho.SubscribeProperties{SubscriptionIdentifier: intp(7)}
		sb.Subscriptions[0].NoLocal = true
	})
	c.publish(&paho.Publish{Topic: "subid/x", QoS: 1, Payload: []byte("own")})
	other := s.v5(overTCP, nil, nil)
	other.publish(&paho.Publish{Topic: "subid/x", QoS: 1, Payload: []byte("other")})
	m := c.in.next(t)
	if string(m.Payload) != "other" {
		t.Fatalf("got %q: No Local delivered the client's own message", m.Payload)
	}
	if id := m.Properties.SubscriptionIdentifier; id == nil || *id != 7 {
		t.Fatalf("subscription identifier %v, want 7", id)
	}
}

// Receive Maximum is the credit: a subscriber that acknowledges slowly has
// at most that many QoS 1 messages outstanding, and gets every one of them.
func TestMQTTV5ReceiveMaximumSlowSubscriber(t *testing.T) {
	const n, recvMax = 300, 4
	s := startServer(t, options{})
	sub := s.v5(overTCP, &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{ReceiveMaximum: u16(recvMax)}},
		func(cfg *paho.ClientConfig) {
			cfg.EnableManualAcknowledgment = true
			cfg.SendAcksInterval = time.Millisecond // paho.golang sends manual acks on a timer
		})
	sub.subscribe("slow/#", 1, nil)
	pub := s.v3(overTCP, nil)
	for i := range n {
		pub.Publish("slow/t", 1, false, fmt.Sprint(i))
	}
	var unacked []*paho.Publish
	for i := range n {
		m := sub.in.next(t)
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, m.Payload)
		}
		unacked = append(unacked, m)
		if len(unacked) > recvMax {
			t.Fatalf("%d unacknowledged messages outstanding, receive maximum %d", len(unacked), recvMax)
		}
		// Acknowledge only when the window is full: the next message must wait.
		if len(unacked) == recvMax || i == n-1 {
			for _, u := range unacked {
				if err := sub.Ack(u); err != nil {
					t.Fatal(err)
				}
			}
			unacked = unacked[:0]
		}
	}
}

// A message larger than the client's Maximum Packet Size is not sent to it
// [MQTT-3.1.2-25]; later ones are.
func TestMQTTV5MaximumPacketSize(t *testing.T) {
	s := startServer(t, options{})
	sub := s.v5(overTCP, &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{MaximumPacketSize: u32(200)}}, nil)
	sub.subscribe("size/#", 1, nil)
	pub := s.v5(overTCP, nil, nil)
	pub.publish(&paho.Publish{Topic: "size/t", QoS: 1, Payload: bytes.Repeat([]byte("x"), 500)})
	pub.publish(&paho.Publish{Topic: "size/t", QoS: 1, Payload: []byte("small")})
	if got := v5body(sub.in.next(t)); got != "small" {
		t.Fatalf("got %d bytes, want only the small message", len(got))
	}
}

func intp(v int) *int { return &v }
