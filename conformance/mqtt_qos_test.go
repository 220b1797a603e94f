package conformance

import (
	"fmt"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// QoS 0, 1 and 2 in both directions, and the downgrade to the subscription's
// QoS [MQTT-3.8.4-8], for MQTT 3.1.1 and 5 over TCP and WebSocket.
func TestMQTTQoSBothDirections(t *testing.T) {
	s := startServer(t, options{})
	for _, tr := range transports {
		t.Run(string(tr)+"/v3", func(t *testing.T) {
			s := s.with(t)
			sub := s.v3(tr, nil)
			pub := s.v3(tr, nil)
			for subQoS := byte(0); subQoS <= 2; subQoS++ {
				topic := fmt.Sprintf("qos/%s/v3/sub%d", tr, subQoS)
				in := v3sub(t, sub, topic, subQoS)
				for pubQoS := byte(0); pubQoS <= 2; pubQoS++ {
					await(t, pub.Publish(topic, pubQoS, false, fmt.Sprintf("p%d", pubQoS)))
					m := in.next(t)
					if string(m.Payload()) != fmt.Sprintf("p%d", pubQoS) || m.Qos() != min(pubQoS, subQoS) || m.Topic() != topic {
						t.Fatalf("got %q qos %d on %q, want p%d qos %d", m.Payload(), m.Qos(), m.Topic(), pubQoS, min(pubQoS, subQoS))
					}
				}
			}
		})
		t.Run(string(tr)+"/v5", func(t *testing.T) {
			s := s.with(t)
			sub := s.v5(tr, nil, nil)
			pub := s.v5(tr, nil, nil)
			for subQoS := byte(0); subQoS <= 2; subQoS++ {
				topic := fmt.Sprintf("qos/%s/v5/sub%d", tr, subQoS)
				if sa := sub.subscribe(topic, subQoS, nil); sa.Reasons[0] != subQoS {
					t.Fatalf("SUBACK %v, want granted QoS %d", sa.Reasons, subQoS)
				}
				for pubQoS := byte(0); pubQoS <= 2; pubQoS++ {
					r := pub.publish(&paho.Publish{Topic: topic, QoS: pubQoS, Payload: fmt.Appendf(nil, "p%d", pubQoS)})
					if pubQoS > 0 && r.ReasonCode != 0 {
						t.Fatalf("publish QoS %d: reason %#x", pubQoS, r.ReasonCode)
					}
					m := sub.in.next(t)
					if string(m.Payload) != fmt.Sprintf("p%d", pubQoS) || m.QoS != min(pubQoS, subQoS) || m.Topic != topic {
						t.Fatalf("got %q qos %d on %q, want p%d qos %d", m.Payload, m.QoS, m.Topic, pubQoS, min(pubQoS, subQoS))
					}
				}
			}
		})
	}
}

// MQTT 3.1.1 and 5 clients see each other's messages.
func TestMQTTVersionsInterwork(t *testing.T) {
	s := startServer(t, options{})
	v3 := s.v3(overTCP, nil)
	v5 := s.v5(overWS, nil, nil)
	in3 := v3sub(t, v3, "mix/+", 1)
	v5.subscribe("mix/#", 1, nil)
	v5.publish(&paho.Publish{Topic: "mix/a", QoS: 1, Payload: []byte("from5")})
	await(t, v3.Publish("mix/b", 1, false, "from3"))
	if got := v3body(in3.next(t)); got != "from5" {
		t.Fatalf("v3 got %q", got)
	}
	if got := v3body(in3.next(t)); got != "from3" {
		t.Fatalf("v3 got %q", got)
	}
	equalStrings(t, "v5 got", payloads(t, v5.in, 2, v5body), []string{"from5", "from3"})
}

// Order is kept per topic and QoS, for many messages.
func TestMQTTOrderKept(t *testing.T) {
	s := startServer(t, options{})
	sub := s.v3(overTCP, nil)
	in := v3sub(t, sub, "order", 1)
	pub := s.v3(overTCP, nil)
	var toks []pahov3.Token
	var want []string
	for i := range 500 {
		want = append(want, fmt.Sprint(i))
		toks = append(toks, pub.Publish("order", 1, false, fmt.Sprint(i)))
	}
	for _, tok := range toks {
		await(t, tok)
	}
	equalStrings(t, "order", payloads(t, in, len(want), v3body), want)
}
