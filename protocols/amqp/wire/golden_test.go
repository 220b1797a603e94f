package wire

import (
	"encoding/binary"
	"time"

	"github.com/mqgate/mqgate/core"
)

// Golden bytes, assembled by hand from the spec and shared by the encode and
// decode tests and the fuzz seeds. The helpers below only add length
// prefixes; type letters, flags and values are spelled out.

// ss is a shortstr: a length octet and the octets (AMQP 0-9-1 §4.2.5.3).
func ss(s string) string {
	if len(s) > 255 {
		panic("shortstr too long for a golden")
	}
	return string([]byte{byte(len(s))}) + s
}

// ls is a longstr: a 32-bit length and the octets.
func ls(s string) string {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	return string(n[:]) + s
}

// tbl is a field table or array body behind its 32-bit length.
func tbl(entries ...string) string {
	var body string
	for _, e := range entries {
		body += e
	}
	return ls(body)
}

// ids is a method's class and method ids.
func ids(class, method uint16) string {
	return string([]byte{byte(class >> 8), byte(class), byte(method >> 8), byte(method)})
}

var goldenTime = time.Unix(0x6553f100, 0).UTC() // 2023-11-14T22:13:20Z

// goldenMethods are method frame payloads and the methods they carry.
var goldenMethods = []struct {
	name    string
	payload string
	method  Method
}{
	{
		"connection.start",
		"\x00\x0a\x00\x0a" + "\x00\x09" +
			tbl(ss("capabilities")+"F"+tbl(ss("publisher_confirms")+"t\x01"), ss("product")+"S"+ls("mqgate")) +
			ls("AMQPLAIN PLAIN") + ls("en_US"),
		&ConnectionStart{
			VersionMajor: 0, VersionMinor: 9,
			ServerProperties: core.Table{"capabilities": core.Table{"publisher_confirms": true}, "product": "mqgate"},
			Mechanisms:       []byte("AMQPLAIN PLAIN"), Locales: []byte("en_US"),
		},
	},
	{
		"connection.start-ok",
		"\x00\x0a\x00\x0b" + tbl(ss("product")+"S"+ls("amqp091-go")) + ss("PLAIN") + ls("\x00guest\x00guest") + ss("en_US"),
		&ConnectionStartOk{
			ClientProperties: core.Table{"product": "amqp091-go"},
			Mechanism:        "PLAIN", Response: []byte("\x00guest\x00guest"), Locale: "en_US",
		},
	},
	{
		"connection.tune",
		"\x00\x0a\x00\x1e" + "\x07\xff" + "\x00\x02\x00\x00" + "\x00\x3c",
		&ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
	},
	{
		"connection.tune-ok",
		"\x00\x0a\x00\x1f" + "\x07\xff" + "\x00\x00\x10\x00" + "\x00\x0a",
		&ConnectionTuneOk{ChannelMax: 2047, FrameMax: 4096, Heartbeat: 10},
	},
	{
		"connection.open",
		"\x00\x0a\x00\x28" + "\x01/" + "\x00" + "\x00",
		&ConnectionOpen{VirtualHost: "/"},
	},
	{
		"connection.close",
		"\x00\x0a\x00\x32" + "\x01\x40" + ss("CONNECTION_FORCED - broker forced connection closure") + "\x00\x00" + "\x00\x00",
		&ConnectionClose{ReplyCode: 320, ReplyText: "CONNECTION_FORCED - broker forced connection closure"},
	},
	{
		"channel.open",
		"\x00\x14\x00\x0a" + "\x00",
		&ChannelOpen{},
	},
	{
		"channel.open-ok",
		"\x00\x14\x00\x0b" + "\x00\x00\x00\x00",
		&ChannelOpenOk{},
	},
	{
		"channel.close",
		"\x00\x14\x00\x28" + "\x01\x94" + ss("NOT_FOUND - no queue 'q'") + "\x00\x32" + "\x00\x0a",
		&ChannelClose{ReplyCode: 404, ReplyText: "NOT_FOUND - no queue 'q'", FailingClassID: 50, FailingMethodID: 10},
	},
	{
		// passive, durable, auto-delete, internal, no-wait: bits 0..4.
		"exchange.declare",
		"\x00\x28\x00\x0a" + "\x00\x00" + ss("logs") + ss("topic") + "\x1a" + tbl(ss("alternate-exchange")+"S"+ls("ae")),
		&ExchangeDeclare{Exchange: "logs", Type: "topic", Durable: true, Internal: true, NoWait: true,
			Arguments: core.Table{"alternate-exchange": "ae"}},
	},
	{
		// passive, durable, exclusive, auto-delete, no-wait: bits 0..4.
		"queue.declare",
		"\x00\x32\x00\x0a" + "\x00\x00" + ss("orders") + "\x02" +
			tbl(ss("x-max-priority")+"b\x0a", ss("x-message-ttl")+"I\x00\x00\xea\x60", ss("x-queue-type")+"S"+ls("classic")),
		&QueueDeclare{Queue: "orders", Durable: true,
			Arguments: core.Table{"x-message-ttl": int32(60000), "x-queue-type": "classic", "x-max-priority": int8(10)}},
	},
	{
		"queue.declare-ok",
		"\x00\x32\x00\x0b" + ss("amq.gen-JzTY20BRgKO-HjmUJj0wLg") + "\x00\x00\x00\x03" + "\x00\x00\x00\x01",
		&QueueDeclareOk{Queue: "amq.gen-JzTY20BRgKO-HjmUJj0wLg", MessageCount: 3, ConsumerCount: 1},
	},
	{
		"queue.bind",
		"\x00\x32\x00\x14" + "\x00\x00" + ss("orders") + ss("amq.topic") + ss("orders.#") + "\x00" + "\x00\x00\x00\x00",
		&QueueBind{Queue: "orders", Exchange: "amq.topic", RoutingKey: "orders.#", Arguments: core.Table{}},
	},
	{
		"basic.qos",
		"\x00\x3c\x00\x0a" + "\x00\x00\x00\x00" + "\x00\x64" + "\x01",
		&BasicQos{PrefetchCount: 100, Global: true},
	},
	{
		// no-local, no-ack, exclusive, no-wait: bits 0..3.
		"basic.consume",
		"\x00\x3c\x00\x14" + "\x00\x00" + ss("orders") + ss("ctag-1") + "\x06" + tbl(ss("x-priority")+"I\x00\x00\x00\x05"),
		&BasicConsume{Queue: "orders", ConsumerTag: "ctag-1", NoAck: true, Exclusive: true,
			Arguments: core.Table{"x-priority": int32(5)}},
	},
	{
		"basic.publish",
		"\x00\x3c\x00\x28" + "\x00\x00" + ss("amq.topic") + ss("orders.eu") + "\x01",
		&BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu", Mandatory: true},
	},
	{
		"basic.return",
		"\x00\x3c\x00\x32" + "\x01\x38" + ss("NO_ROUTE") + ss("amq.topic") + ss("nowhere"),
		&BasicReturn{ReplyCode: 312, ReplyText: "NO_ROUTE", Exchange: "amq.topic", RoutingKey: "nowhere"},
	},
	{
		"basic.deliver",
		"\x00\x3c\x00\x3c" + ss("ctag-1") + "\x00\x00\x00\x00\x00\x00\x01\x00" + "\x01" + ss("") + ss("orders"),
		&BasicDeliver{ConsumerTag: "ctag-1", DeliveryTag: 256, Redelivered: true, RoutingKey: "orders"},
	},
	{
		"basic.get-ok",
		"\x00\x3c\x00\x47" + "\x00\x00\x00\x00\x00\x00\x00\x07" + "\x00" + ss("") + ss("orders") + "\x00\x00\x00\x09",
		&BasicGetOk{DeliveryTag: 7, RoutingKey: "orders", MessageCount: 9},
	},
	{
		"basic.ack",
		"\x00\x3c\x00\x50" + "\x00\x00\x00\x00\x00\x00\x00\x2a" + "\x01",
		&BasicAck{DeliveryTag: 42, Multiple: true},
	},
	{
		"basic.nack",
		"\x00\x3c\x00\x78" + "\x00\x00\x00\x00\x00\x00\x00\x2a" + "\x02",
		&BasicNack{DeliveryTag: 42, Requeue: true},
	},
	{
		"basic.cancel",
		"\x00\x3c\x00\x1e" + ss("ctag-1") + "\x01",
		&BasicCancel{ConsumerTag: "ctag-1", NoWait: true},
	},
	{
		"tx.select",
		"\x00\x5a\x00\x0a",
		&TxSelect{},
	},
	{
		"confirm.select",
		"\x00\x55\x00\x0a" + "\x01",
		&ConfirmSelect{NoWait: true},
	},
}

// goldenFields are field values with their type letter and encoding.
var goldenFields = []struct {
	name  string
	wire  string
	value any
}{
	{"bool true", "t\x01", true},
	{"bool false", "t\x00", false},
	{"int8", "b\xfe", int8(-2)},
	{"uint8", "B\xfe", uint8(254)},
	{"int16", "s\xff\xfe", int16(-2)},
	{"uint16", "u\xff\xfe", uint16(65534)},
	{"int32", "I\xff\xff\xff\xfe", int32(-2)},
	{"uint32", "i\xff\xff\xff\xfe", uint32(4294967294)},
	{"int64", "l\xff\xff\xff\xff\xff\xff\xff\xfe", int64(-2)},
	{"float32", "f\x3f\xc0\x00\x00", float32(1.5)},
	{"float64", "d\x3f\xf8\x00\x00\x00\x00\x00\x00", 1.5},
	{"decimal", "D\x02\x00\x00\x30\x39", core.Decimal{Scale: 2, Value: 12345}},
	{"decimal negative", "D\x00\xff\xff\xff\xff", core.Decimal{Value: -1}},
	{"longstr", "S\x00\x00\x00\x05hello", "hello"},
	{"longstr binary", "S\x00\x00\x00\x03\x00\xff\x80", "\x00\xff\x80"},
	{"byte array", "x\x00\x00\x00\x03\x00\x01\xff", []byte{0, 1, 255}},
	{"empty byte array", "x\x00\x00\x00\x00", []byte{}},
	{"timestamp", "T\x00\x00\x00\x00\x65\x53\xf1\x00", goldenTime},
	{"table", "F\x00\x00\x00\x07\x01kI\x00\x00\x00\x01", core.Table{"k": int32(1)}},
	{"empty table", "F\x00\x00\x00\x00", core.Table{}},
	{"array", "A\x00\x00\x00\x08t\x01VS\x00\x00\x00\x00", []any{true, nil, ""}},
	{"empty array", "A\x00\x00\x00\x00", []any{}},
	{"nested", "A\x00\x00\x00\x0c" + "F\x00\x00\x00\x07\x01aA\x00\x00\x00\x00", []any{core.Table{"a": []any{}}}},
	{"void", "V", nil},
}

// goldenEncodeOnly are Go values with no field type of their own, and what
// they encode as.
var goldenEncodeOnly = []struct {
	name  string
	wire  string
	value any
}{
	{"int", "l\x00\x00\x00\x00\x00\x00\x00\x07", 7},
	{"uint64", "l\x7f\xff\xff\xff\xff\xff\xff\xff", uint64(1<<63 - 1)},
	{"map", "F\x00\x00\x00\x03\x01aV", map[string]any{"a": nil}},
}

// goldenHeaders are content header frame payloads.
var goldenHeaders = []struct {
	name    string
	payload string
	header  ContentHeader
}{
	{
		"no properties",
		"\x00\x3c" + "\x00\x00" + "\x00\x00\x00\x00\x00\x00\x00\x00" + "\x00\x00",
		ContentHeader{ClassID: ClassBasic},
	},
	{
		// content-type 0x8000, headers 0x2000, delivery-mode 0x1000, timestamp 0x0040.
		"some properties",
		"\x00\x3c" + "\x00\x00" + "\x00\x00\x00\x00\x00\x00\x00\x64" + "\xb0\x40" +
			ss("text/plain") + tbl(ss("x")+"I\x00\x00\x00\x01") + "\x02" + "\x00\x00\x00\x00\x65\x53\xf1\x00",
		ContentHeader{ClassID: ClassBasic, BodySize: 100, Properties: Properties{
			ContentType: "text/plain", Headers: core.Table{"x": int32(1)}, DeliveryMode: 2, Timestamp: goldenTime,
		}},
	},
	{
		"all properties",
		"\x00\x3c" + "\x00\x00" + "\x00\x00\x00\x01\x00\x00\x00\x00" + "\xff\xfc" +
			ss("application/json") + ss("gzip") + tbl(ss("h")+"V") + "\x02" + "\x09" +
			ss("corr") + ss("reply") + ss("60000") + ss("msg-1") + "\x00\x00\x00\x00\x65\x53\xf1\x00" +
			ss("order.created") + ss("guest") + ss("shop") + ss("cluster"),
		ContentHeader{ClassID: ClassBasic, BodySize: 1 << 32, Properties: Properties{
			ContentType: "application/json", ContentEncoding: "gzip", Headers: core.Table{"h": nil},
			DeliveryMode: 2, Priority: 9, CorrelationID: "corr", ReplyTo: "reply", Expiration: "60000",
			MessageID: "msg-1", Timestamp: goldenTime, Type: "order.created", UserID: "guest", AppID: "shop",
			Reserved: "cluster",
		}},
	},
}

// goldenFrames are whole frames.
var goldenFrames = []struct {
	name  string
	wire  string
	frame Frame
}{
	{"heartbeat", "\x08\x00\x00\x00\x00\x00\x00\xce", Frame{Type: FrameHeartbeat}},
	{
		"basic.ack on channel 1",
		"\x01\x00\x01\x00\x00\x00\x0d" + "\x00\x3c\x00\x50\x00\x00\x00\x00\x00\x00\x00\x2a\x01" + "\xce",
		Frame{Type: FrameMethod, Channel: 1, Payload: []byte("\x00\x3c\x00\x50\x00\x00\x00\x00\x00\x00\x00\x2a\x01")},
	},
	{"body on channel 258", "\x03\x01\x02\x00\x00\x00\x02hi\xce", Frame{Type: FrameBody, Channel: 258, Payload: []byte("hi")}},
}
