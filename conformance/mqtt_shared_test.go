package conformance

import (
	"fmt"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// $share/<group>/<filter>: the members of a group compete for its messages
// (each message reaches one member), while a plain subscriber and another
// group each get every message.
func TestMQTTSharedSubscriptions(t *testing.T) {
	const n = 300
	s := startServer(t, options{})
	var members []*inbox[string]
	for i := range 3 {
		in := newInbox[string]()
		if i == 2 {
			c := s.v3(overWS, nil)
			await(t, c.Subscribe("$share/workers/jobs/+", 1, func(_ pahov3.Client, m pahov3.Message) { in.put(string(m.Payload())) }))
		} else {
			c := s.v5(overTCP, nil, nil)
			c.subscribe("$share/workers/jobs/+", 1, nil)
			go func() {
				for m := range c.in.ch {
					in.put(string(m.Payload))
				}
			}()
		}
		members = append(members, in)
	}
	other := s.v5(overTCP, nil, nil)
	other.subscribe("$share/audit/jobs/#", 0, nil)
	plain := s.v5(overTCP, nil, nil)
	plain.subscribe("jobs/#", 1, nil)

	pub := s.v5(overTCP, nil, nil)
	for i := range n {
		pub.publish(&paho.Publish{Topic: fmt.Sprintf("jobs/%d", i%5), QoS: 1, Payload: fmt.Append(nil, i)})
	}
	payloads(t, plain.in, n, v5body)
	payloads(t, other.in, n, v5body)
	seen := map[string]int{}
	per := make([]int, len(members))
	for len(seen) < n {
		select {
		case m := <-members[0].ch:
			seen[m]++
			per[0]++
		case m := <-members[1].ch:
			seen[m]++
			per[1]++
		case m := <-members[2].ch:
			seen[m]++
			per[2]++
		case <-ctxWait(t).Done():
			t.Fatalf("only %d of %d shared messages arrived", len(seen), n)
		}
	}
	for m, k := range seen {
		if k != 1 {
			t.Fatalf("message %s reached %d members", m, k)
		}
	}
	for i, k := range per {
		if k == 0 {
			t.Fatalf("member %d got nothing (per member %v): not competing consumers", i, per)
		}
	}
}

// When a member leaves, the group goes on with the others; the group's queue
// goes away with its last member.
func TestMQTTSharedSubscriptionMembersLeave(t *testing.T) {
	s := startServer(t, options{})
	a := s.v5(overTCP, nil, nil)
	a.subscribe("$share/g/leave/t", 1, nil)
	b := s.v5(overTCP, nil, nil)
	b.subscribe("$share/g/leave/t", 1, nil)
	_ = a.Disconnect(&paho.Disconnect{})
	pub := s.v5(overTCP, nil, nil)
	for i := range 10 {
		pub.publish(&paho.Publish{Topic: "leave/t", QoS: 1, Payload: fmt.Append(nil, i)})
	}
	payloads(t, b.in, 10, v5body)
	if _, err := b.Unsubscribe(ctxWait(t), &paho.Unsubscribe{Topics: []string{"$share/g/leave/t"}}); err != nil {
		t.Fatal(err)
	}
	pub.publish(&paho.Publish{Topic: "leave/t", QoS: 1, Payload: []byte("nobody")})
	c := s.v5(overTCP, nil, nil)
	c.subscribe("$share/g/leave/t", 1, nil)
	pub.publish(&paho.Publish{Topic: "leave/t", QoS: 1, Payload: []byte("new member")})
	if got := v5body(c.in.next(t)); got != "new member" {
		t.Fatalf("got %q: the old group queue outlived its members", got)
	}
}
