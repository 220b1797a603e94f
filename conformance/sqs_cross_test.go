package conformance

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	amqp "github.com/rabbitmq/amqp091-go"
)

func sqsAMQPChannel(t *testing.T, s *server) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@" + s.addr("amqp") + "/")
	if err != nil {
		t.Fatalf("dial AMQP: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// sqsAttrMD5 is MD5OfMessageAttributes as the Java, .NET and PHP SDKs check it.
func sqsAttrMD5(attrs map[string]types.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(aws.ToString(a.DataType)))
		if a.StringValue != nil {
			h.Write([]byte{1})
			put([]byte(*a.StringValue))
		} else {
			h.Write([]byte{2})
			put(a.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestCrossSQSAMQPSendToConsumer(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "cross-out", nil)
	out, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("from sqs"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"s":     {DataType: aws.String("String"), StringValue: aws.String("v")},
			"n":     {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"price": {DataType: aws.String("Number.float"), StringValue: aws.String("1.50")},
			"b":     {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ch := sqsAMQPChannel(t, s)
	ds, err := ch.Consume("cross-out", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-ds:
		if string(d.Body) != "from sqs" || d.MessageId != aws.ToString(out.MessageId) || d.DeliveryMode != amqp.Persistent {
			t.Fatalf("AMQP delivery %+v", d)
		}
		h := d.Headers
		if h["s"] != "v" || h["n"] != int64(42) || h["price"] != "1.50" || string(h["b"].([]byte)) != "\x00\x01" {
			t.Fatalf("headers %#v", h)
		}
		if types, _ := h["x-sqs-attribute-types"].(amqp.Table); types["price"] != "Number.float" {
			t.Fatalf("attribute types %#v", h["x-sqs-attribute-types"])
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no AMQP delivery")
	}
}

func TestCrossSQSAMQPPublishToReceive(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "cross-in", nil)
	ch := sqsAMQPChannel(t, s)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 2))
	pub := func(p amqp.Publishing) {
		t.Helper()
		if err := ch.PublishWithContext(sqsCtx(t), "", "cross-in", false, false, p); err != nil {
			t.Fatal(err)
		}
		if cf := <-confirms; !cf.Ack {
			t.Fatal("publish nacked")
		}
	}
	pub(amqp.Publishing{MessageId: "amqp-1", Body: []byte("from amqp"), Headers: amqp.Table{
		"s": "str", "i": int32(7), "f": 2.5, "ok": true, "raw": []byte{9}, "nested": amqp.Table{"k": "v"}}})
	pub(amqp.Publishing{Body: []byte{0xff, 0x00, 0x01}}) // not SQS text: delivered base64-encoded

	ms := sqsReceiveN(t, c, url, 2, sqs.ReceiveMessageInput{MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	m := ms[0]
	if aws.ToString(m.Body) != "from amqp" || aws.ToString(m.MessageId) != "amqp-1" {
		t.Fatalf("message %+v", m)
	}
	want := map[string][2]string{"s": {"String", "str"}, "i": {"Number", "7"}, "f": {"Number", "2.5"},
		"ok": {"String", "true"}, "nested": {"String.json", `{"k":"v"}`}}
	for k, w := range want {
		a := m.MessageAttributes[k]
		if aws.ToString(a.DataType) != w[0] || aws.ToString(a.StringValue) != w[1] {
			t.Errorf("attribute %s = %s %q, want %v", k, aws.ToString(a.DataType), aws.ToString(a.StringValue), w)
		}
	}
	if a := m.MessageAttributes["raw"]; aws.ToString(a.DataType) != "Binary" || string(a.BinaryValue) != "\x09" {
		t.Errorf("raw = %+v", a)
	}
	if got := sqsAttrMD5(m.MessageAttributes); got != aws.ToString(m.MD5OfMessageAttributes) {
		t.Fatalf("MD5OfMessageAttributes %s, computed %s", aws.ToString(m.MD5OfMessageAttributes), got)
	}
	bin := ms[1]
	if aws.ToString(bin.Body) != base64.StdEncoding.EncodeToString([]byte{0xff, 0, 1}) ||
		aws.ToString(bin.MessageAttributes["mqgate.body-encoding"].StringValue) != "base64" || aws.ToString(bin.MessageId) == "" {
		t.Fatalf("binary body message %+v", bin)
	}
}
