package conformance

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// A client whose connection drops without DISCONNECT has its will
// published; one that disconnects cleanly does not [MQTT-3.1.2-8]
// [MQTT-3.1.2-10]. The will may be retained.
func TestMQTTWill(t *testing.T) {
	s := startServer(t, options{})
	watch := s.v3(overTCP, nil)
	in := v3sub(t, watch, "will/#", 1)

	var conn net.Conn
	dropper := s.v3(overTCP, func(o *pahov3.ClientOptions) {
		o.SetWill("will/dropped", "gone", 1, true)
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ pahov3.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", u.Host)
			conn = c
			return c, err
		})
	})
	polite := s.v3(overWS, func(o *pahov3.ClientOptions) { o.SetWill("will/polite", "never", 1, false) })
	polite.Disconnect(1000) // waits (at most this long) for the DISCONNECT to be written
	_ = dropper
	_ = conn.Close()
	m := in.next(t)
	if string(m.Payload()) != "gone" || m.Topic() != "will/dropped" || m.Qos() != 1 {
		t.Fatalf("got %q on %q qos %d, want the dropped client's will", m.Payload(), m.Topic(), m.Qos())
	}
	// Retained: a new subscriber gets it.
	late := s.v3(overTCP, nil)
	if m := v3sub(t, late, "will/dropped", 1).next(t); string(m.Payload()) != "gone" || !m.Retained() {
		t.Fatalf("retained will: %q retained %v", m.Payload(), m.Retained())
	}
	// The polite client's will never came: the next message is this marker.
	await(t, watch.Publish("will/marker", 1, false, "marker"))
	if got := v3body(in.next(t)); got != "marker" {
		t.Fatalf("got %q, want the marker (a clean DISCONNECT sent the will)", got)
	}
}

// MQTT 5 wills: properties kept; DISCONNECT with reason 0x04 sends it; a
// will delay longer than the session expiry fires when the session ends;
// a client coming back within the will delay cancels it [MQTT-3.1.3-9].
func TestMQTTWillV5(t *testing.T) {
	s := startServer(t, options{})
	watch := s.v5(overTCP, nil, nil)
	watch.subscribe("w5/#", 1, nil)

	t.Run("disconnect with will", func(t *testing.T) {
		s := s.with(t)
		// paho.golang v0.23 sends only the CONNECT-type will properties (user
		// properties, will delay); content type and the like it leaves out.
		c := s.v5(overTCP, &paho.Connect{ClientID: clientID("w"), CleanStart: true,
			WillMessage:    &paho.WillMessage{Topic: "w5/04", QoS: 1, Payload: []byte("bye")},
			WillProperties: &paho.WillProperties{User: paho.UserProperties{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}}}}, nil)
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0x04})
		m := watch.in.next(t)
		u := m.Properties.User
		if string(m.Payload) != "bye" || len(u) != 2 || u[0] != (paho.UserProperty{Key: "k", Value: "v"}) ||
			u[1] != (paho.UserProperty{Key: "k", Value: "w"}) {
			t.Fatalf("will %q user properties %v", m.Payload, u)
		}
	})
	t.Run("delay beyond session expiry", func(t *testing.T) {
		s := s.with(t)
		c := s.v5(overTCP, &paho.Connect{ClientID: clientID("w"), CleanStart: true,
			Properties:     &paho.ConnectProperties{SessionExpiryInterval: u32(1)},
			WillMessage:    &paho.WillMessage{Topic: "w5/expiry", QoS: 1, Payload: []byte("session ended")},
			WillProperties: &paho.WillProperties{WillDelayInterval: u32(3600)}}, nil)
		start := time.Now()
		_ = c.conn.Close()
		m := watch.in.next(t)
		if string(m.Payload) != "session ended" {
			t.Fatalf("got %q", m.Payload)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("will after %v, before the 1 s session expiry", d)
		}
	})
	t.Run("resume cancels delayed will", func(t *testing.T) {
		s := s.with(t)
		id := clientID("w")
		c := s.v5(overTCP, &paho.Connect{ClientID: id, CleanStart: true,
			Properties:     &paho.ConnectProperties{SessionExpiryInterval: u32(60)},
			WillMessage:    &paho.WillMessage{Topic: "w5/cancelled", QoS: 1, Payload: []byte("must not come")},
			WillProperties: &paho.WillProperties{WillDelayInterval: u32(1)}}, nil)
		_ = c.conn.Close()
		<-c.Done()
		back := s.v5(overTCP, &paho.Connect{ClientID: id, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(60)}}, nil)
		if !back.connack.SessionPresent {
			t.Fatal("session not resumed")
		}
		watch.in.none(t, 1500*time.Millisecond) // past the will delay
	})
}
