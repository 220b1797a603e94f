package sqs

import (
	"testing"

	"github.com/mqgate/mqgate/core"
)

// The test vectors of reference §2.6.
func TestAttributeMD5Vectors(t *testing.T) {
	for _, c := range []struct {
		name  string
		attrs []messageAttribute
		want  string
	}{
		{"one string", []messageAttribute{{Name: "foo", DataType: "String", String: "bar"}}, "d8062e30406ad939a86bacea477e5a26"},
		{"binary and number, unsorted", []messageAttribute{{Name: "b", DataType: "Number", String: "42"},
			{Name: "a", DataType: "Binary", Binary: []byte{0, 1}}}, "9cc2a2b9b80b80594197c6e8206f2e63"},
		{"none", nil, ""},
	} {
		if got := attrMD5(c.attrs); got != c.want {
			t.Errorf("%s: attrMD5 = %q, want %q", c.name, got, c.want)
		}
	}
	if got := md5Hex([]byte("hello")); got != "5d41402abc4b2a76b9719d911017c592" {
		t.Errorf("md5Hex(hello) = %s", got)
	}
}

// TestAttributeHeaderRoundTrip: attributes → AMQP headers → attributes gives
// back the same attributes, hence the same MD5.
func TestAttributeHeaderRoundTrip(t *testing.T) {
	s := func(v string) *string { return &v }
	in := map[string]attributeValue{
		"str":    {DataType: "String", StringValue: s("v")},
		"json":   {DataType: "String.json", StringValue: s(`{"a":1}`)},
		"int":    {DataType: "Number", StringValue: s("-42")},
		"lead0":  {DataType: "Number", StringValue: s("042")},
		"float":  {DataType: "Number", StringValue: s("1.50")},
		"custom": {DataType: "Number.int", StringValue: s("7")},
		"bin":    {DataType: "Binary", BinaryValue: []byte{0, 255}},
		"png":    {DataType: "Binary.png", BinaryValue: []byte{1}},
	}
	attrs, _, err := validateMessageAttributes(in)
	if err != nil {
		t.Fatal(err)
	}
	h := core.Table{}
	attributesToHeaders(attrs, h)
	if h["int"] != int64(-42) || h["str"] != "v" || h["lead0"] != "042" {
		t.Fatalf("headers %v", h)
	}
	back := headersToAttributes(h, nameFilter{"All"})
	if attrMD5(back) != attrMD5(attrs) {
		t.Fatalf("round trip changed the attributes:\n%+v\n%+v", attrs, back)
	}
	if got := headersToAttributes(h, nameFilter{"st.*", "int"}); len(got) != 1 || got[0].Name != "int" {
		t.Fatalf("filter: %+v", got)
	}
}

func TestHeadersFromOtherProtocols(t *testing.T) {
	h := core.Table{"b": true, "d": core.Decimal{Scale: 2, Value: -150}, "f": 2.5, "u": uint8(7),
		"t": core.Table{"k": []any{int32(1), "x"}}, "x-death": []any{}, "x-sqs-sender-id": "k"}
	got := map[string]messageAttribute{}
	for _, a := range headersToAttributes(h, nameFilter{"All"}) {
		got[a.Name] = a
	}
	want := map[string][2]string{"b": {"String", "true"}, "d": {"Number", "-1.50"}, "f": {"Number", "2.5"},
		"u": {"Number", "7"}, "t": {"String.json", `{"k":[1,"x"]}`}}
	if len(got) != len(want) {
		t.Fatalf("attributes %+v", got)
	}
	for k, w := range want {
		if got[k].DataType != w[0] || got[k].String != w[1] {
			t.Errorf("%s = %+v, want %v", k, got[k], w)
		}
	}
}

func TestValidateMessageAttributes(t *testing.T) {
	s := func(v string) *string { return &v }
	bad := []map[string]attributeValue{
		{"AWS.x": {DataType: "String", StringValue: s("v")}},
		{".x": {DataType: "String", StringValue: s("v")}},
		{"a..b": {DataType: "String", StringValue: s("v")}},
		{"a b": {DataType: "String", StringValue: s("v")}},
		{"x": {DataType: "", StringValue: s("v")}},
		{"x": {DataType: "Text", StringValue: s("v")}},
		{"x": {DataType: "String", StringValue: s("")}},
		{"x": {DataType: "Number", StringValue: s("12a")}},
		{"x": {DataType: "Number", StringValue: s("1e200")}},
		{"x": {DataType: "Binary"}},
		{"x": {DataType: "String", StringValue: s("bell\a")}},
	}
	for _, in := range bad {
		if _, _, err := validateMessageAttributes(in); err == nil {
			t.Errorf("%v accepted", in)
		}
	}
	many := map[string]attributeValue{}
	for i := 0; i < 11; i++ {
		many[string(rune('a'+i))] = attributeValue{DataType: "String", StringValue: s("v")}
	}
	if _, _, err := validateMessageAttributes(many); err == nil {
		t.Error("11 attributes accepted")
	}
	for _, n := range []string{"0", "-1.5", "+3", ".5", "1e10", "12345678901234567890123456789012345678"} {
		if !validNumber(n) {
			t.Errorf("validNumber(%q) = false", n)
		}
	}
}

func TestReceiptHandles(t *testing.T) {
	r := receipt{instance: 42, session: 3, tag: 1 << 40, seq: 99, queue: "orders.fifo"}
	h := r.encode()
	got, ok := decodeReceipt(h)
	if !ok || got != r {
		t.Fatalf("decode(encode) = %+v %v", got, ok)
	}
	for _, g := range []string{"", "garbage", h[:len(h)-2], "x" + h[1:], string(make([]byte, 2000))} {
		if _, ok := decodeReceipt(g); ok {
			t.Errorf("%q accepted", g)
		}
	}
}

func TestQueueNamesAndURLs(t *testing.T) {
	s := New(Config{}, nil, nil)
	for _, c := range []struct {
		name string
		ok   bool
	}{{"q", true}, {"a-b_C9", true}, {"x.fifo", true}, {".fifo", false}, {"a.b", false}, {"", false},
		{string(make([]byte, 81)), false}} {
		if validQueueName(c.name) != c.ok {
			t.Errorf("validQueueName(%q) != %v", c.name, c.ok)
		}
	}
	for _, c := range []struct {
		url, name string
		ok        bool
	}{
		{"http://localhost:9324/000000000000/q1", "q1", true},
		{"https://sqs.eu-west-1.amazonaws.com/000000000000/q1.fifo", "q1.fifo", true},
		{"http://sqs:9324/queue/q1", "q1", true},
		{"/000000000000/q1", "q1", true},
		{"http://h/111111111111/q1", "", false},
		{"http://h/000000000000/", "", false},
		{"http://h/000000000000/a/b", "", false},
		{"::", "", false},
	} {
		n, ok := s.nameFromURL(c.url)
		if ok != c.ok || n != c.name {
			t.Errorf("nameFromURL(%q) = %q %v", c.url, n, ok)
		}
	}
	if arn := s.queueARN("q"); arn != "arn:aws:sqs:us-east-1:000000000000:q" {
		t.Errorf("queueARN = %s", arn)
	}
	if n, ok := s.nameFromARN("arn:aws:sqs:eu-west-1:000000000000:dlq"); !ok || n != "dlq" {
		t.Errorf("nameFromARN = %q %v", n, ok)
	}
	if _, ok := s.nameFromARN("arn:aws:sns:us-east-1:000000000000:t"); ok {
		t.Error("SNS ARN accepted")
	}
}

func TestFromCore(t *testing.T) {
	for _, c := range []struct {
		code core.Code
		want string
	}{
		{core.NotFound, "AWS.SimpleQueueService.NonExistentQueue"},
		{core.AccessRefused, "AccessDenied"},
		{core.ResourceLocked, "AccessDenied"},
		{core.ResourceLimit, "OverLimit"},
		{core.PreconditionFailed, "InvalidParameterValue"},
		{core.InvalidArgument, "InvalidParameterValue"},
		{core.NotImplemented, "AWS.SimpleQueueService.UnsupportedOperation"},
		{core.Internal, "InternalError"},
	} {
		if got := fromCore(&core.Error{Code: c.code, Msg: "m"}); got.Code != c.want {
			t.Errorf("%v → %s, want %s", c.code, got.Code, c.want)
		}
	}
}
