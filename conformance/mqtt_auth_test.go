package conformance

import (
	"errors"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/mqgate/mqgate/gateway"
	"github.com/mqgate/mqgate/protocols/mqtt"
)

// authServer has vhost "iot" with user "dev" (full rights there), user
// "limited" (may publish only to routing keys starting "allowed."), and ACL
// rules denying "dev" the topics secret/#.
func authServer(t *testing.T, edit func(*gateway.Config)) *server {
	return startServer(t, options{edit: func(c *gateway.Config) {
		c.VHosts = append(c.VHosts, "iot")
		c.Users = append(c.Users, gateway.UserConfig{Name: "dev", Password: "devpw"},
			gateway.UserConfig{Name: "limited", Password: "lpw"})
		c.Permissions = append(c.Permissions,
			gateway.PermissionConfig{User: "dev", VHost: "iot", Configure: ".*", Write: ".*", Read: ".*"},
			gateway.PermissionConfig{User: "limited", VHost: "/", Configure: ".*", Write: ".*", Read: ".*"})
		c.TopicPermissions = append(c.TopicPermissions,
			gateway.TopicPermissionConfig{User: "limited", VHost: "/", Exchange: "amq.topic", Write: `^allowed\.`, Read: ".*"})
		c.MQTT.ACL = []mqtt.ACLRule{{User: "dev", Action: "all", Filter: "secret/#", Allow: false}}
		if edit != nil {
			edit(c)
		}
	}})
}

func TestMQTTAuthCredentials(t *testing.T) {
	s := authServer(t, nil)
	_, err := s.v3try(overTCP, func(o *pahov3.ClientOptions) { o.SetUsername("iot:dev"); o.SetPassword("wrong") })
	if !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
		t.Fatalf("v3 wrong password: %v, want bad user name or password", err)
	}
	c, err := s.v5try(overWS, &paho.Connect{CleanStart: true, Username: "iot:dev", UsernameFlag: true,
		Password: []byte("wrong"), PasswordFlag: true}, nil)
	if err == nil || c.connack == nil || c.connack.ReasonCode != 0x86 {
		t.Fatalf("v5 wrong password: %v, CONNACK %+v, want 0x86", err, c.connack)
	}
	// dev has no rights on the default vhost: not authorized.
	c, err = s.v5try(overTCP, &paho.Connect{CleanStart: true, Username: "dev", UsernameFlag: true,
		Password: []byte("devpw"), PasswordFlag: true}, nil)
	if err == nil || c.connack == nil || c.connack.ReasonCode != 0x87 {
		t.Fatalf("v5 without vhost access: %v, CONNACK %+v, want 0x87", err, c.connack)
	}
	// Anonymous is guest, from loopback.
	anon := s.v3(overTCP, nil)
	await(t, anon.Publish("anon/t", 1, false, "ok"))
}

func TestMQTTAuthAnonymousRefused(t *testing.T) {
	s := authServer(t, func(c *gateway.Config) { c.MQTT.AllowAnonymous = false })
	c, err := s.v5try(overTCP, &paho.Connect{CleanStart: true}, nil)
	if err == nil || c.connack == nil || c.connack.ReasonCode != 0x87 {
		t.Fatalf("anonymous: %v, CONNACK %+v, want 0x87", err, c.connack)
	}
}

// "vhost:user" logs in to that vhost; vhosts are separate worlds, and the
// same client identifier in two vhosts is two sessions.
func TestMQTTVHosts(t *testing.T) {
	s := authServer(t, nil)
	id := clientID("same")
	dev := func(o *pahov3.ClientOptions) { o.SetUsername("iot:dev"); o.SetPassword("devpw"); o.SetClientID(id) }
	inIoT := v3sub(t, s.v3(overTCP, dev), "v/t", 1)
	inDefault := v3sub(t, s.v3(overTCP, func(o *pahov3.ClientOptions) { o.SetClientID(id) }), "v/t", 1)
	pubIoT := s.v3(overWS, func(o *pahov3.ClientOptions) { o.SetUsername("iot:dev"); o.SetPassword("devpw") })
	await(t, pubIoT.Publish("v/t", 1, false, "iot"))
	pubDefault := s.v3(overTCP, nil)
	await(t, pubDefault.Publish("v/t", 1, false, "default"))
	if got := v3body(inIoT.next(t)); got != "iot" {
		t.Fatalf("iot subscriber got %q", got)
	}
	if got := v3body(inDefault.next(t)); got != "default" {
		t.Fatalf("default vhost subscriber got %q", got)
	}
}

// ACL rules and topic permissions: MQTT 5 gets 0x87 in PUBACK, PUBREC and
// SUBACK; MQTT 3.1.1 is disconnected on a refused publish and gets 0x80 in
// SUBACK.
func TestMQTTAuthTopicRefusals(t *testing.T) {
	s := authServer(t, nil)
	devV5 := s.v5(overTCP, &paho.Connect{CleanStart: true, Username: "iot:dev", UsernameFlag: true,
		Password: []byte("devpw"), PasswordFlag: true}, nil)
	for _, qos := range []byte{1, 2} {
		r, err := devV5.Publish(ctxWait(t), &paho.Publish{Topic: "secret/plans", QoS: qos, Payload: []byte("x")})
		if err == nil && r.ReasonCode != 0x87 {
			t.Fatalf("QoS %d publish to a denied topic: reason %#x, want 0x87", qos, r.ReasonCode)
		}
		if r == nil || r.ReasonCode != 0x87 || r.Properties == nil || r.Properties.ReasonString == "" {
			t.Fatalf("QoS %d publish to a denied topic: %v %+v, want 0x87 with a reason string", qos, err, r)
		}
	}
	for _, f := range []string{"secret/+", "#"} {
		sa, err := devV5.Subscribe(ctxWait(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: f, QoS: 1}}})
		if sa == nil || sa.Reasons[0] != 0x87 {
			t.Fatalf("subscribe %q: %v %+v, want 0x87", f, err, sa)
		}
	}
	devV5.publish(&paho.Publish{Topic: "public/ok", QoS: 1, Payload: []byte("fine")}) // still connected

	// Core topic permissions (routing key regex on amq.topic).
	lim := s.v5(overTCP, &paho.Connect{CleanStart: true, Username: "limited", UsernameFlag: true,
		Password: []byte("lpw"), PasswordFlag: true}, nil)
	if r, _ := lim.Publish(ctxWait(t), &paho.Publish{Topic: "denied/x", QoS: 1, Payload: []byte("x")}); r == nil || r.ReasonCode != 0x87 {
		t.Fatalf("topic permission refusal: %+v, want 0x87", r)
	}
	lim.publish(&paho.Publish{Topic: "allowed/x", QoS: 1, Payload: []byte("x")})

	// MQTT 3.1.1: SUBACK 0x80, then a refused publish ends the connection.
	lost := make(chan error, 1)
	devV3 := s.v3(overTCP, func(o *pahov3.ClientOptions) {
		o.SetUsername("iot:dev")
		o.SetPassword("devpw")
		o.SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
	})
	tok := devV3.Subscribe("secret/#", 1, nil)
	tok.WaitTimeout(mqttWait)
	if st, ok := tok.(*pahov3.SubscribeToken); !ok || st.Result()["secret/#"] != 0x80 {
		t.Fatalf("v3 subscribe to a denied filter: %v", tok.(*pahov3.SubscribeToken).Result())
	}
	devV3.Publish("secret/x", 1, false, "x")
	select {
	case <-lost:
	case <-ctxWait(t).Done():
		t.Fatal("v3 client not disconnected after a refused publish")
	}
}
