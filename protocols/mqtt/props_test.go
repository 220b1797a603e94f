package mqtt

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// README "Properties", table "MQTT → core": one row per case.
func TestToMessage(t *testing.T) {
	pf := func(p packets.Properties) appMsg { return appMsg{topic: "a/b", qos: 1, payload: []byte("x"), props: p} }
	long := string(bytes.Repeat([]byte("t"), 300))
	for _, tc := range []struct {
		name  string
		in    appMsg
		check func(*core.Message) bool
	}{
		{"topic", appMsg{topic: "a/b.c"}, func(m *core.Message) bool {
			return m.Exchange == "amq.topic" && m.RoutingKey == "a.b/c"
		}},
		{"qos 0", appMsg{topic: "t", qos: 0}, func(m *core.Message) bool {
			return m.Properties.DeliveryMode == core.Transient && m.Properties.Headers[hdrQoS] == byte(0)
		}},
		{"qos 2", appMsg{topic: "t", qos: 2}, func(m *core.Message) bool {
			return m.Properties.DeliveryMode == core.Persistent && m.Properties.Headers[hdrQoS] == byte(2)
		}},
		{"retain", appMsg{topic: "t", retain: true}, func(m *core.Message) bool { return m.Properties.Headers[hdrRetain] == true }},
		{"client id", appMsg{topic: "t"}, func(m *core.Message) bool { return m.Properties.Headers[hdrClientID] == "cid" }},
		{"payload format", pf(packets.Properties{PayloadFormat: 1, PayloadFormatFlag: true}), func(m *core.Message) bool {
			return m.Properties.Headers[hdrPayloadFormat] == byte(1)
		}},
		{"content type", pf(packets.Properties{ContentType: "text/plain"}), func(m *core.Message) bool {
			return m.Properties.ContentType == "text/plain"
		}},
		{"long content type", pf(packets.Properties{ContentType: long}), func(m *core.Message) bool {
			return m.Properties.ContentType == "" && m.Properties.Headers[hdrContentType] == long
		}},
		{"correlation data, text", pf(packets.Properties{CorrelationData: []byte("req-1")}), func(m *core.Message) bool {
			return m.Properties.CorrelationID == "req-1" && m.Properties.Headers[hdrCorrelationID] == nil
		}},
		{"correlation data, binary", pf(packets.Properties{CorrelationData: []byte{0xff, 0}}), func(m *core.Message) bool {
			return m.Properties.CorrelationID == "" && bytes.Equal(m.Properties.Headers[hdrCorrelationID].([]byte), []byte{0xff, 0})
		}},
		{"response topic", pf(packets.Properties{ResponseTopic: "reply/v1.0"}), func(m *core.Message) bool {
			return m.Properties.Headers[hdrReplyToTopic] == "reply.v1/0"
		}},
		{"message expiry", pf(packets.Properties{MessageExpiryInterval: 30}), func(m *core.Message) bool {
			return m.Properties.Expiration == "30000"
		}},
		{"one user property", pf(packets.Properties{User: []packets.UserProperty{{Key: "k", Val: "v"}}}), func(m *core.Message) bool {
			return m.Properties.Headers["k"] == "v" && m.Properties.Headers[hdrUserProps] == nil
		}},
		{"user properties, order and repeats", pf(packets.Properties{User: []packets.UserProperty{{Key: "b", Val: "1"},
			{Key: "a", Val: "2"}, {Key: "b", Val: "3"}}}), func(m *core.Message) bool {
			h := m.Properties.Headers
			return h["b"] == "1" && h["a"] == "2" &&
				reflect.DeepEqual(h[hdrUserProps], []any{[]any{"b", "1"}, []any{"a", "2"}, []any{"b", "3"}})
		}},
		{"reserved user property name", pf(packets.Properties{User: []packets.UserProperty{{Key: hdrQoS, Val: "2"}}}),
			func(m *core.Message) bool {
				return m.Properties.Headers[hdrQoS] == byte(1) &&
					reflect.DeepEqual(m.Properties.Headers[hdrUserProps], []any{[]any{hdrQoS, "2"}})
			}},
		{"x-amqp-* user properties", pf(packets.Properties{User: []packets.UserProperty{{Key: upMessageID, Val: "m1"},
			{Key: upTimestamp, Val: "1700000000"}, {Key: upType, Val: "ty"}, {Key: upAppID, Val: "app"},
			{Key: upReplyTo, Val: "q"}, {Key: upPriority, Val: "5"}, {Key: upContentEncoding, Val: "gzip"},
			{Key: upUserID, Val: "u"}}}), func(m *core.Message) bool {
			p := m.Properties
			return p.MessageID == "m1" && p.Timestamp.Unix() == 1700000000 && p.Type == "ty" && p.AppID == "app" &&
				p.ReplyTo == "q" && p.Priority == 5 && p.ContentEncoding == "gzip" && p.UserID == "" &&
				p.Headers[upUserID] == "u"
		}},
	} {
		m := toMessage(&tc.in, "amq.topic", "cid")
		if !tc.check(m) {
			t.Errorf("%s: %+v", tc.name, m.Properties)
		}
	}
}

// README "Properties", table "core → MQTT": one row per case.
func TestFromMessage(t *testing.T) {
	now := epoch.Add(10 * time.Second)
	msg := func(p core.Properties) *core.Message {
		return &core.Message{RoutingKey: "a.b", Properties: p, Body: []byte("x"), Published: epoch}
	}
	h := func(kv ...any) core.Table {
		t := core.Table{}
		for i := 0; i < len(kv); i += 2 {
			t[kv[i].(string)] = kv[i+1]
		}
		return t
	}
	user := func(kv ...string) []packets.UserProperty {
		var u []packets.UserProperty
		for i := 0; i < len(kv); i += 2 {
			u = append(u, packets.UserProperty{Key: kv[i], Val: kv[i+1]})
		}
		return u
	}
	for _, tc := range []struct {
		name  string
		in    core.Properties
		check func(delivered) bool
	}{
		{"qos header", core.Properties{Headers: h(hdrQoS, byte(2))}, func(d delivered) bool { return d.qos == 2 }},
		{"persistent without header", core.Properties{DeliveryMode: core.Persistent}, func(d delivered) bool { return d.qos == 1 }},
		{"transient without header", core.Properties{DeliveryMode: core.Transient}, func(d delivered) bool { return d.qos == 0 }},
		{"retain and origin", core.Properties{Headers: h(hdrRetain, true, hdrClientID, "c1")}, func(d delivered) bool {
			return d.retain && d.origin == "c1" && len(d.props.User) == 0
		}},
		{"content type", core.Properties{ContentType: "application/json"}, func(d delivered) bool {
			return d.props.ContentType == "application/json"
		}},
		{"long content type", core.Properties{Headers: h(hdrContentType, "x/y")}, func(d delivered) bool {
			return d.props.ContentType == "x/y"
		}},
		{"correlation id", core.Properties{CorrelationID: "c-9"}, func(d delivered) bool {
			return string(d.props.CorrelationData) == "c-9"
		}},
		{"x-correlation-id first", core.Properties{CorrelationID: "text", Headers: h(hdrCorrelationID, []byte{1, 2})},
			func(d delivered) bool { return bytes.Equal(d.props.CorrelationData, []byte{1, 2}) }},
		{"reply-to topic", core.Properties{Headers: h(hdrReplyToTopic, "r.v1/0")}, func(d delivered) bool {
			return d.props.ResponseTopic == "r/v1.0"
		}},
		{"expiration counts down", core.Properties{Expiration: "60000"}, func(d delivered) bool {
			return !d.expired && d.props.MessageExpiryInterval == 50
		}},
		{"expiration rounds up", core.Properties{Expiration: "10500"}, func(d delivered) bool {
			return !d.expired && d.props.MessageExpiryInterval == 1
		}},
		{"expired", core.Properties{Expiration: "10000"}, func(d delivered) bool { return d.expired }},
		{"payload format", core.Properties{Headers: h(hdrPayloadFormat, byte(1))}, func(d delivered) bool {
			return d.props.PayloadFormatFlag && d.props.PayloadFormat == 1
		}},
		{"ordered user properties", core.Properties{Headers: h("b", "1", "a", "2",
			hdrUserProps, []any{[]any{"b", "1"}, []any{"a", "2"}, []any{"b", "3"}})}, func(d delivered) bool {
			return reflect.DeepEqual(d.props.User, user("b", "1", "a", "2", "b", "3"))
		}},
		{"headers as user properties", core.Properties{Headers: h("s", "str", "i", int32(-4), "u", uint8(7), "f", 1.5,
			"t", true, "bin", []byte{0xff}, "txt", []byte("hi"), "ts", epoch, "d", core.Decimal{Scale: 2, Value: 314},
			"tbl", core.Table{"k": int64(1)}, "arr", []any{"x", int16(2)}, "nil", nil)}, func(d delivered) bool {
			return reflect.DeepEqual(d.props.User, user("arr", `["x",2]`, "bin", "/w==", "d", "3.14", "f", "1.5",
				"i", "-4", "nil", "", "s", "str", "t", "true", "tbl", `{"k":1}`, "ts", "2026-03-01T12:00:00Z",
				"txt", "hi", "u", "7"))
		}},
		{"amqp properties", core.Properties{MessageID: "m", Timestamp: time.Unix(1700000000, 0), Type: "ty",
			AppID: "a", UserID: "u", ReplyTo: "q", Priority: 3, ContentEncoding: "gzip"}, func(d delivered) bool {
			return reflect.DeepEqual(d.props.User, user(upMessageID, "m", upTimestamp, "1700000000", upType, "ty",
				upAppID, "a", upUserID, "u", upReplyTo, "q", upPriority, "3", upContentEncoding, "gzip"))
		}},
	} {
		d := fromMessage(msg(tc.in), now, true)
		if !tc.check(d) {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
	// MQTT 3: no properties at all.
	if d := fromMessage(msg(core.Properties{ContentType: "x", Headers: h("k", "v")}), now, false); !reflect.DeepEqual(d.props, packets.Properties{}) {
		t.Errorf("MQTT 3 delivery has properties %+v", d.props)
	}
}

// Every MQTT 5 property survives MQTT → core → MQTT.
func TestPropertiesRoundTrip(t *testing.T) {
	in := packets.Properties{PayloadFormat: 1, PayloadFormatFlag: true, MessageExpiryInterval: 100,
		ContentType: "text/plain", ResponseTopic: "reply/to.me", CorrelationData: []byte{9, 0xfe},
		User: []packets.UserProperty{{Key: "z", Val: "1"}, {Key: "a", Val: ""}, {Key: "z", Val: "2"}, {Key: "x-mqtt-fake", Val: "3"}}}
	m := toMessage(&appMsg{topic: "a/b.c", qos: 2, retain: true, props: in}, "amq.topic", "me")
	m.Published = epoch
	d := fromMessage(m, epoch, true)
	if d.qos != 2 || !d.retain || d.origin != "me" || keyToTopic(m.RoutingKey) != "a/b.c" {
		t.Fatalf("delivery %+v", d)
	}
	if !reflect.DeepEqual(d.props, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", d.props, in)
	}
}

func TestValueStringNeverPanics(t *testing.T) {
	for _, v := range []any{float32(2.5), uint64(1 << 63), int64(-1), uint16(9), core.Table{"b": []byte{0xff}},
		map[string]any{"d": core.Decimal{Scale: 1, Value: -5}}} {
		_ = valueString(v)
	}
	if got := valueString(core.Table{"b": []byte{0xff}}); got != `{"b":"/w=="}` {
		t.Fatalf("binary in a table: %s", got)
	}
	if got := fmt.Sprint(valueString(core.Decimal{Scale: 1, Value: -5})); got != "-0.5" {
		t.Fatalf("decimal: %s", got)
	}
}
