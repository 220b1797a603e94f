package conformance

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	amqp "github.com/rabbitmq/amqp091-go"
)

// amqpTopicQueue declares an exclusive queue bound to amq.topic with key
// and consumes it.
func amqpTopicQueue(t *testing.T, s *server, key string) <-chan amqp.Delivery {
	t.Helper()
	_, ch := amqpChannel(t, s)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	must(t, ch.QueueBind(q.Name, key, "amq.topic", false, nil))
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	must(t, err)
	return msgs
}

func nextAMQP(t *testing.T, msgs <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d := <-msgs:
		return d
	case <-time.After(mqttWait):
		t.Fatal("no AMQP delivery")
		return amqp.Delivery{}
	}
}

// MQTT publish → AMQP consumer on a queue bound to amq.topic: the topic is
// the routing key ('/' ⇄ '.', a '.' of the topic as '/'), QoS the delivery
// mode, and every MQTT 5 property arrives (README "Properties").
func TestCrossMQTTToAMQP(t *testing.T) {
	s := startServer(t, options{})
	msgs := amqpTopicQueue(t, s, "cross.#")

	v3 := s.v3(overTCP, nil)
	await(t, v3.Publish("cross/v3/a.b", 1, false, "from v3"))
	d := nextAMQP(t, msgs)
	if string(d.Body) != "from v3" || d.RoutingKey != "cross.v3.a/b" || d.DeliveryMode != amqp.Persistent ||
		d.Exchange != "amq.topic" || fmt.Sprint(d.Headers["x-mqtt-publish-qos"]) != "1" {
		t.Fatalf("v3 QoS 1: %q rk %q mode %d headers %v", d.Body, d.RoutingKey, d.DeliveryMode, d.Headers)
	}
	await(t, v3.Publish("cross/q0", 0, false, "qos0"))
	if d := nextAMQP(t, msgs); d.DeliveryMode != amqp.Transient {
		t.Fatalf("QoS 0: delivery mode %d", d.DeliveryMode)
	}

	v5 := s.v5(overTCP, nil, nil)
	pf := byte(1)
	v5.publish(&paho.Publish{Topic: "cross/v5", QoS: 2, Payload: []byte(`{"t":1}`), Properties: &paho.PublishProperties{
		ContentType: "application/json", CorrelationData: []byte("corr-1"), ResponseTopic: "cross/reply/1",
		PayloadFormat: &pf, MessageExpiry: u32(60),
		User: paho.UserProperties{{Key: "site", Value: "north"}, {Key: "unit", Value: "C"}}}})
	d = nextAMQP(t, msgs)
	h := d.Headers
	if d.ContentType != "application/json" || d.CorrelationId != "corr-1" || d.Expiration != "60000" ||
		h["x-reply-to-topic"] != "cross.reply.1" || h["site"] != "north" || h["unit"] != "C" ||
		fmt.Sprint(h["x-mqtt-publish-qos"]) != "2" || fmt.Sprint(h["x-mqtt-payload-format-indicator"]) != "1" {
		t.Fatalf("v5 properties on AMQP: %+v", d)
	}
	// Binary correlation data travels as x-correlation-id.
	v5.publish(&paho.Publish{Topic: "cross/bin", QoS: 1, Payload: []byte("b"),
		Properties: &paho.PublishProperties{CorrelationData: []byte{0xff, 0x00}}})
	if d := nextAMQP(t, msgs); !bytes.Equal(asBytes(d.Headers["x-correlation-id"]), []byte{0xff, 0x00}) {
		t.Fatalf("binary correlation data: %v", d.Headers)
	}
}

func asBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

// AMQP publish → MQTT subscriber: delivery mode as QoS (capped by the
// subscription), properties and headers as MQTT 5 properties and user
// properties, nothing dropped; MQTT 3.1.1 gets the body.
func TestCrossAMQPToMQTT(t *testing.T) {
	s := startServer(t, options{})
	v5 := s.v5(overTCP, nil, nil)
	v5.subscribe("amqp/#", 2, nil)
	v3 := s.v3(overWS, nil)
	in3 := v3sub(t, v3, "amqp/+/x", 1)
	_, ch := amqpChannel(t, s)

	ts := time.Unix(1700000000, 0)
	must(t, ch.Publish("amq.topic", "amqp.a/b.x", false, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent, ContentType: "text/plain", ContentEncoding: "utf-8",
		CorrelationId: "c-42", ReplyTo: "replies", Expiration: "30000", MessageId: "m-1", Timestamp: ts,
		Type: "order.created", AppId: "shop", Priority: 4,
		Headers: amqp.Table{"x-reply-to-topic": "amqp.reply", "str": "s", "num": int32(7), "flag": true,
			"nested": amqp.Table{"k": "v"}, "list": []any{"a", int32(1)}},
		Body: []byte("hello mqtt")}))
	m := v5.in.next(t)
	p := m.Properties
	if m.Topic != "amqp/a.b/x" || string(m.Payload) != "hello mqtt" || m.QoS != 1 || p.ContentType != "text/plain" ||
		string(p.CorrelationData) != "c-42" || p.ResponseTopic != "amqp/reply" || p.MessageExpiry == nil || *p.MessageExpiry > 30 {
		t.Fatalf("MQTT 5 delivery: %q on %q qos %d %+v", m.Payload, m.Topic, m.QoS, p)
	}
	want := map[string]string{"str": "s", "num": "7", "flag": "true", "nested": `{"k":"v"}`, "list": `["a",1]`,
		"x-amqp-message-id": "m-1", "x-amqp-timestamp": "1700000000", "x-amqp-type": "order.created",
		"x-amqp-app-id": "shop", "x-amqp-reply-to": "replies", "x-amqp-priority": "4", "x-amqp-content-encoding": "utf-8"}
	for k, v := range want {
		if got := p.User.Get(k); got != v {
			t.Errorf("user property %q = %q, want %q (all: %v)", k, got, v, p.User)
		}
	}
	if d := in3.next(t); string(d.Payload()) != "hello mqtt" || d.Qos() != 1 || d.Topic() != "amqp/a.b/x" {
		t.Fatalf("MQTT 3.1.1 delivery: %q qos %d on %q", d.Payload(), d.Qos(), d.Topic())
	}
	// Transient is QoS 0.
	must(t, ch.Publish("amq.topic", "amqp.t.x", false, false, amqp.Publishing{Body: []byte("t")}))
	if d := in3.next(t); d.Qos() != 0 {
		t.Fatalf("transient message delivered at QoS %d", d.Qos())
	}
}

// A message published over MQTT 5, consumed over AMQP and republished
// unchanged over AMQP reaches an MQTT 5 subscriber with its properties: the
// mapping is lossless both ways.
func TestCrossMQTTRoundTripThroughAMQP(t *testing.T) {
	s := startServer(t, options{})
	msgs := amqpTopicQueue(t, s, "rt.in")
	sub := s.v5(overTCP, nil, nil)
	sub.subscribe("rt/out", 1, nil)
	pub := s.v5(overTCP, nil, nil)
	in := &paho.PublishProperties{ContentType: "a/b", CorrelationData: []byte{1, 2, 0xff}, ResponseTopic: "rt/reply.x",
		User: paho.UserProperties{{Key: "z", Value: "1"}, {Key: "a", Value: "2"}, {Key: "z", Value: "3"}}}
	pub.publish(&paho.Publish{Topic: "rt/in", QoS: 1, Payload: []byte("p"), Properties: in})
	d := nextAMQP(t, msgs)
	_, ch := amqpChannel(t, s)
	must(t, ch.Publish("amq.topic", "rt.out", false, false, amqp.Publishing{Headers: d.Headers,
		ContentType: d.ContentType, CorrelationId: d.CorrelationId, DeliveryMode: d.DeliveryMode, Body: d.Body}))
	m := sub.in.next(t)
	p := m.Properties
	if p.ContentType != in.ContentType || !bytes.Equal(p.CorrelationData, in.CorrelationData) ||
		p.ResponseTopic != in.ResponseTopic || fmt.Sprint(p.User) != fmt.Sprint(in.User) {
		t.Fatalf("after the round trip: %+v, want %+v", p, in)
	}
}

// An MQTT 3.1.1 publisher's retained message is an ordinary message to
// AMQP, with header x-mqtt-retain.
func TestCrossMQTTRetainedFlagOnAMQP(t *testing.T) {
	s := startServer(t, options{})
	msgs := amqpTopicQueue(t, s, "rflag.#")
	c := s.v3(overTCP, func(*pahov3.ClientOptions) {})
	await(t, c.Publish("rflag/x", 1, true, "r"))
	if d := nextAMQP(t, msgs); d.Headers["x-mqtt-retain"] != true {
		t.Fatalf("headers %v", d.Headers)
	}
}
