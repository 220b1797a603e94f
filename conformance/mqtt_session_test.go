package conformance

import (
	"fmt"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// 10,000 QoS 1 messages published while a persistent-session subscriber is
// offline are all delivered when it comes back, after a gateway restart.
func TestMQTTPersistentSessionSurvivesRestart(t *testing.T) {
	const n = 10000
	s := startServer(t, options{durable: true})
	subID := clientID("offline")
	persistent := func(o *pahov3.ClientOptions) {
		o.SetClientID(subID)
		o.SetCleanSession(false)
	}
	sub := s.v3(overTCP, persistent)
	await(t, sub.Subscribe("restart/+/data", 1, nil))
	sub.Disconnect(0)

	pub := s.v3(overTCP, nil)
	toks := make([]pahov3.Token, n)
	for i := range toks {
		toks[i] = pub.Publish(fmt.Sprintf("restart/%d/data", i%7), 1, false, fmt.Sprint(i))
	}
	for _, tok := range toks {
		await(t, tok) // PUBACK: on disk in the durable session queue
	}
	pub.Disconnect(0)

	s.restart()

	in := newInbox[pahov3.Message]()
	sub = s.v3(overTCP, func(o *pahov3.ClientOptions) {
		persistent(o)
		o.SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { in.put(m) })
	})
	seen := make(map[string]bool, n)
	for len(seen) < n {
		m := in.next(t)
		seen[string(m.Payload())] = true
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("message %d lost", i)
		}
	}
}

// The same over MQTT 5 with a session expiry interval, over WebSocket.
func TestMQTTPersistentSessionV5(t *testing.T) {
	s := startServer(t, options{durable: true})
	id := clientID("v5persist")
	connect := func(clean bool) *paho.Connect {
		return &paho.Connect{ClientID: id, CleanStart: clean,
			Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(3600)}}
	}
	sub := s.v5(overWS, connect(true), nil)
	if sub.connack.SessionPresent {
		t.Fatal("clean start: Session Present set")
	}
	sub.subscribe("v5persist/#", 2, nil)
	_ = sub.Disconnect(&paho.Disconnect{})

	pub := s.v5(overTCP, nil, nil)
	for i := range 100 {
		pub.publish(&paho.Publish{Topic: "v5persist/x", QoS: byte(1 + i%2), Payload: fmt.Append(nil, i)})
	}
	s.restart()

	sub = s.v5(overWS, connect(false), nil)
	if !sub.connack.SessionPresent {
		t.Fatal("resumed session: Session Present not set")
	}
	var want []string
	for i := range 100 {
		want = append(want, fmt.Sprint(i))
	}
	equalStrings(t, "after restart", payloads(t, sub.in, 100, v5body), want)
}

// Clean session / clean start discards a stored session and its messages.
func TestMQTTCleanStartDiscardsSession(t *testing.T) {
	s := startServer(t, options{})
	id := clientID("clean")
	sub := s.v3(overTCP, func(o *pahov3.ClientOptions) { o.SetClientID(id); o.SetCleanSession(false) })
	await(t, sub.Subscribe("clean/t", 1, nil))
	sub.Disconnect(0)
	pub := s.v3(overTCP, nil)
	await(t, pub.Publish("clean/t", 1, false, "stale"))

	// Clean start: no session, no stale message.
	in := newInbox[pahov3.Message]()
	v5 := s.v5(overTCP, &paho.Connect{ClientID: id, CleanStart: true}, nil)
	if v5.connack.SessionPresent {
		t.Fatal("Session Present after clean start")
	}
	_ = v5.Disconnect(&paho.Disconnect{})
	sub = s.v3(overTCP, func(o *pahov3.ClientOptions) {
		o.SetClientID(id)
		o.SetCleanSession(false)
		o.SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) { in.put(m) })
	})
	await(t, sub.Subscribe("clean/t", 1, func(_ pahov3.Client, m pahov3.Message) { in.put(m) }))
	await(t, pub.Publish("clean/t", 1, false, "fresh"))
	if got := v3body(in.next(t)); got != "fresh" {
		t.Fatalf("got %q, want only the message published after the clean start", got)
	}
}

// A second connection with the same client identifier takes the session
// over: the first gets DISCONNECT 0x8E, the subscriptions carry on.
func TestMQTTSessionTakeover(t *testing.T) {
	s := startServer(t, options{})
	id := clientID("takeover")
	connect := &paho.Connect{ClientID: id, Properties: &paho.ConnectProperties{SessionExpiryInterval: u32(60)}}
	first := s.v5(overTCP, &paho.Connect{ClientID: id, CleanStart: true, Properties: connect.Properties}, nil)
	first.subscribe("takeover/t", 1, nil)
	second := s.v5(overWS, connect, nil)
	if !second.connack.SessionPresent {
		t.Fatal("takeover: Session Present not set")
	}
	select {
	case d := <-first.gone:
		if d.ReasonCode != 0x8E {
			t.Fatalf("first connection: DISCONNECT %#x, want 0x8E", d.ReasonCode)
		}
	case <-ctxWait(t).Done():
		t.Fatal("first connection not disconnected")
	}
	pub := s.v5(overTCP, nil, nil)
	pub.publish(&paho.Publish{Topic: "takeover/t", QoS: 1, Payload: []byte("after")})
	if got := v5body(second.in.next(t)); got != "after" {
		t.Fatalf("got %q", got)
	}
}
