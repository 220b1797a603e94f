package conformance

import (
	"sort"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// Retained messages reach new subscribers of exact and wildcard filters
// (RabbitMQ sends none to wildcard ones), are cleared by an empty payload,
// and survive a restart.
func TestMQTTRetainedExactAndWildcard(t *testing.T) {
	s := startServer(t, options{durable: true})
	pub := s.v3(overTCP, nil)
	await(t, pub.Publish("ret/a/temp", 1, true, "21"))
	await(t, pub.Publish("ret/b/temp", 0, true, "22"))
	await(t, pub.Publish("ret/b/hum", 2, true, "50"))
	await(t, pub.Publish("ret/c/temp", 1, true, "gone"))
	await(t, pub.Publish("ret/c/temp", 1, true, "")) // clears it [MQTT-3.3.1-6]
	await(t, pub.Publish("ret/d", 1, false, "not retained"))

	check := func(t *testing.T, s *server, tr transport) {
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{"ret/a/temp", []string{"21"}},
			{"ret/+/temp", []string{"21", "22"}},
			{"ret/#", []string{"21", "22", "50"}},
			{"ret/c/temp", nil},
			{"#", []string{"21", "22", "50"}},
		} {
			c := s.v3(tr, nil)
			in := v3sub(t, c, tc.filter, 2)
			var got []string
			for range tc.want {
				m := in.next(t)
				if !m.Retained() {
					t.Fatalf("%s: message %q without RETAIN", tc.filter, m.Payload())
				}
				got = append(got, string(m.Payload()))
			}
			sort.Strings(got)
			equalStrings(t, "retained for "+tc.filter, got, tc.want)
			// Nothing else: a live message published now comes next.
			await(t, pub.Publish("ret/zz/live", 0, false, "live"))
			if tc.filter == "ret/#" || tc.filter == "#" {
				if got := v3body(in.next(t)); got != "live" {
					t.Fatalf("%s: got %q, want the live message", tc.filter, got)
				}
			}
		}
	}
	for _, tr := range transports {
		check(t, s, tr)
	}
	s.restart()
	pub = s.v3(overTCP, nil)
	check(t, s, overTCP)
}

// A live message published with RETAIN reaches existing subscribers with
// RETAIN cleared [MQTT-3.3.1-12], unless they subscribed with Retain As
// Published; Retain Handling 1 sends retained messages only for a new
// subscription, 2 never [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func TestMQTTRetainHandlingAndRetainAsPublished(t *testing.T) {
	s := startServer(t, options{})
	pub := s.v5(overTCP, nil, nil)
	pub.publish(&paho.Publish{Topic: "rh/x", QoS: 1, Retain: true, Payload: []byte("old")})

	plain := s.v5(overTCP, nil, nil)
	plain.subscribe("rh/#", 1, nil)
	if m := plain.in.next(t); !m.Retain || string(m.Payload) != "old" {
		t.Fatalf("on subscribe: %q retain %v", m.Payload, m.Retain)
	}
	rap := s.v5(overTCP, nil, nil)
	rap.subscribe("rh/#", 1, func(sb *paho.Subscribe) {
		sb.Subscriptions[0].RetainAsPublished = true
		sb.Subscriptions[0].RetainHandling = 2
	})
	rh1 := s.v5(overTCP, nil, nil)
	rh1.subscribe("rh/#", 1, func(sb *paho.Subscribe) { sb.Subscriptions[0].RetainHandling = 1 })
	if m := rh1.in.next(t); string(m.Payload) != "old" {
		t.Fatalf("retain handling 1, new subscription: got %q", m.Payload)
	}
	rh1.subscribe("rh/#", 1, func(sb *paho.Subscribe) { sb.Subscriptions[0].RetainHandling = 1 })

	pub.publish(&paho.Publish{Topic: "rh/x", QoS: 1, Retain: true, Payload: []byte("new")})
	if m := plain.in.next(t); m.Retain || string(m.Payload) != "new" {
		t.Fatalf("plain: %q retain %v, want new without RETAIN", m.Payload, m.Retain)
	}
	if m := rap.in.next(t); !m.Retain || string(m.Payload) != "new" {
		t.Fatalf("retain as published: %q retain %v, want new with RETAIN (and no retained message on subscribe)", m.Payload, m.Retain)
	}
	if m := rh1.in.next(t); string(m.Payload) != "new" {
		t.Fatalf("retain handling 1, existing subscription: got %q, want the live message only", m.Payload)
	}
}

// A retained message with a message expiry interval is not sent once it
// has expired, and carries the remaining interval before [MQTT-3.3.2-5].
func TestMQTTRetainedExpiry(t *testing.T) {
	s := startServer(t, options{})
	pub := s.v5(overTCP, nil, nil)
	pub.publish(&paho.Publish{Topic: "rexp/long", QoS: 1, Retain: true, Payload: []byte("long"),
		Properties: &paho.PublishProperties{MessageExpiry: u32(3600)}})
	sub := s.v5(overTCP, nil, nil)
	sub.subscribe("rexp/#", 1, nil)
	m := sub.in.next(t)
	if string(m.Payload) != "long" || m.Properties.MessageExpiry == nil || *m.Properties.MessageExpiry > 3600 ||
		*m.Properties.MessageExpiry < 3500 {
		t.Fatalf("got %q expiry %v", m.Payload, m.Properties.MessageExpiry)
	}
}

// MQTT 3.1.1 retained messages survive a v3 subscriber reconnecting.
func TestMQTTRetainedV3Resubscribe(t *testing.T) {
	s := startServer(t, options{})
	pub := s.v3(overWS, nil)
	await(t, pub.Publish("status/door", 1, true, "open"))
	for range 2 {
		c := s.v3(overWS, func(o *pahov3.ClientOptions) {})
		in := v3sub(t, c, "status/+", 1)
		if m := in.next(t); string(m.Payload()) != "open" || !m.Retained() {
			t.Fatalf("got %q retained %v", m.Payload(), m.Retained())
		}
		c.Disconnect(0)
	}
}
