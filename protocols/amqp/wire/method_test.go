package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
)

// methodFrame is the frame that carries payload on channel.
func methodFrame(channel uint16, payload string) string {
	var h [7]byte
	h[0] = FrameMethod
	binary.BigEndian.PutUint16(h[1:], channel)
	binary.BigEndian.PutUint32(h[3:], uint32(len(payload)))
	return string(h[:]) + payload + "\xce"
}

func TestAMQPWireGoldenMethodEncode(t *testing.T) {
	for _, g := range goldenMethods {
		t.Run(g.name, func(t *testing.T) {
			if got := g.method.Name(); got != g.name {
				t.Fatalf("Name() = %q", got)
			}
			got, err := AppendMethodFrame([]byte("prefix"), 7, g.method)
			if err != nil {
				t.Fatal(err)
			}
			if want := "prefix" + methodFrame(7, g.payload); string(got) != want {
				t.Fatalf("encoded\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestAMQPWireGoldenMethodDecode(t *testing.T) {
	for _, g := range goldenMethods {
		t.Run(g.name, func(t *testing.T) {
			m, err := DecodeMethod([]byte(g.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, g.method) {
				t.Fatalf("decoded\n got %#v\nwant %#v", m, g.method)
			}
			// Every strict prefix is malformed: each field has a fixed size
			// or a length prefix.
			for n := range len(g.payload) {
				_, err := DecodeMethod([]byte(g.payload[:n]))
				want := uint16(ReplySyntaxError)
				if n < 4 {
					want = ReplyFrameError
				}
				checkCode(t, fmt.Sprintf("prefix of %d octets", n), err, want)
			}
			_, err = DecodeMethod([]byte(g.payload + "\x00"))
			checkCode(t, "trailing octet", err, ReplySyntaxError)
		})
	}
}

// TestAMQPWireGoldenDecodeCopies checks that decoded methods do not alias the
// payload, which a FrameReader reuses.
func TestAMQPWireGoldenDecodeCopies(t *testing.T) {
	for _, g := range goldenMethods {
		payload := []byte(g.payload)
		m, err := DecodeMethod(payload)
		if err != nil {
			t.Fatal(err)
		}
		for i := range payload {
			payload[i] = 0xAA
		}
		if !reflect.DeepEqual(m, g.method) {
			t.Fatalf("%s: decoded method changed with its payload: %#v", g.name, m)
		}
	}
}

func checkCode(t *testing.T, what string, err error, code uint16) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v, want *Error with code %d", what, err, code)
	}
	if e.Code != code {
		t.Fatalf("%s: code %d (%v), want %d", what, e.Code, e, code)
	}
}

// populate sets every field of the struct v points to a non-zero value that
// differs from field to field.
func populate(t *testing.T, v reflect.Value) {
	t.Helper()
	s := v.Elem()
	for i := range s.NumField() {
		f, name := s.Field(i), s.Type().Field(i).Name
		n := uint64(i + 1)
		switch f.Interface().(type) {
		case bool:
			f.SetBool(true)
		case uint8:
			f.SetUint(0x80 + n)
		case uint16:
			f.SetUint(0x8100 + n)
		case uint32:
			f.SetUint(0x82000000 + n)
		case uint64:
			f.SetUint(0x8300000000000000 + n)
		case string:
			f.SetString(name + "-é")
		case []byte:
			f.SetBytes([]byte("\x00" + name + "\xff"))
		case core.Table:
			f.Set(reflect.ValueOf(core.Table{"field": name, "n": int32(n), "nested": core.Table{"a": []any{int8(-1), nil}}}))
		case time.Time:
			f.Set(reflect.ValueOf(goldenTime.Add(time.Duration(n) * time.Second)))
		default:
			t.Fatalf("populate: field %s of type %s", name, f.Type())
		}
	}
}

// roundTrip encodes m as a frame, reads the frame back and decodes it.
func roundTrip(t *testing.T, m Method) Method {
	t.Helper()
	b, err := AppendMethodFrame(nil, 3, m)
	if err != nil {
		t.Fatalf("%s: encode: %v", m.Name(), err)
	}
	fr := NewFrameReader(bufio.NewReader(bytes.NewReader(b)), 1<<20)
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatalf("%s: read frame: %v", m.Name(), err)
	}
	if f.Type != FrameMethod || f.Channel != 3 {
		t.Fatalf("%s: frame type %d channel %d", m.Name(), f.Type, f.Channel)
	}
	got, err := DecodeMethod(f.Payload)
	if err != nil {
		t.Fatalf("%s: decode: %v", m.Name(), err)
	}
	return got
}

// TestAMQPWireRoundTripEveryMethod encodes and decodes every method of the
// spec with every field set, then with each bit set alone, which catches two
// bits packed into the same position.
func TestAMQPWireRoundTripEveryMethod(t *testing.T) {
	if len(allMethods) != 64 {
		t.Fatalf("%d methods, the spec XML has 64", len(allMethods))
	}
	for _, k := range allMethods {
		m := newMethod(k)
		if m == nil {
			t.Fatalf("newMethod(%v) = nil", k)
		}
		if m.ClassID() != k.Class || m.MethodID() != k.Method {
			t.Fatalf("%s: ids %d.%d, want %d.%d", m.Name(), m.ClassID(), m.MethodID(), k.Class, k.Method)
		}
		if m.Name() != k.String() || !strings.Contains(m.Name(), ".") {
			t.Fatalf("Name() = %q, key names %q", m.Name(), k.String())
		}
		if got := roundTrip(t, m); !reflect.DeepEqual(got, m) && !zeroTablesMatch(got, m) {
			t.Fatalf("%s zero value: got %#v, want %#v", m.Name(), got, m)
		}
		populate(t, reflect.ValueOf(m))
		if got := roundTrip(t, m); !reflect.DeepEqual(got, m) {
			t.Fatalf("%s: got %#v\nwant %#v", m.Name(), got, m)
		}
		s := reflect.TypeOf(m).Elem()
		for i := range s.NumField() {
			if s.Field(i).Type.Kind() != reflect.Bool {
				continue
			}
			one := newMethod(k)
			reflect.ValueOf(one).Elem().Field(i).SetBool(true)
			got := roundTrip(t, one)
			for j := range s.NumField() {
				if s.Field(j).Type.Kind() == reflect.Bool && reflect.ValueOf(got).Elem().Field(j).Bool() != (i == j) {
					t.Fatalf("%s: setting only %s decoded %#v", m.Name(), s.Field(i).Name, got)
				}
			}
		}
	}
}

// zeroTablesMatch reports whether got equals want once want's nil tables read
// as the empty tables a decoder returns.
func zeroTablesMatch(got, want Method) bool {
	w := reflect.New(reflect.TypeOf(want).Elem())
	w.Elem().Set(reflect.ValueOf(want).Elem())
	for i := range w.Elem().NumField() {
		if f := w.Elem().Field(i); f.Type() == reflect.TypeOf(core.Table(nil)) && f.IsNil() {
			f.Set(reflect.ValueOf(core.Table{}))
		}
	}
	return reflect.DeepEqual(got, w.Interface())
}

func TestAMQPWireMethodTraits(t *testing.T) {
	content := map[string]bool{"basic.publish": true, "basic.return": true, "basic.deliver": true, "basic.get-ok": true}
	// Methods the peer answers; basic.recover has no <response> in the XML.
	sync := map[string]bool{"connection.open": true, "basic.recover": true, "basic.get": true, "queue.declare": true, "channel.flow": true}
	notSync := map[string]bool{"basic.publish": true, "basic.ack": true, "queue.declare-ok": true, "connection.close-ok": true,
		"channel.flow-ok": true, "basic.recover-async": true, "basic.get-empty": true}
	for _, k := range allMethods {
		m := newMethod(k)
		if m.HasContent() != content[m.Name()] {
			t.Errorf("%s: HasContent() = %t", m.Name(), m.HasContent())
		}
		if sync[m.Name()] && !m.Sync() || notSync[m.Name()] && m.Sync() {
			t.Errorf("%s: Sync() = %t", m.Name(), m.Sync())
		}
	}
	if got := MethodName(60, 40); got != "basic.publish" {
		t.Errorf("MethodName(60, 40) = %q", got)
	}
	if got := MethodName(60, 99); got != "class 60 method 99" {
		t.Errorf("MethodName(60, 99) = %q", got)
	}
}

func TestAMQPWireServerMustHandle(t *testing.T) {
	// The XML has 36 methods with <chassis name="server" implement="MUST"/>.
	if len(ServerMustHandle) != 36 {
		t.Errorf("%d methods, want 36", len(ServerMustHandle))
	}
	seen := map[MethodKey]bool{}
	for _, k := range ServerMustHandle {
		if seen[k] || newMethod(k) == nil {
			t.Errorf("%v: duplicate or unknown", k)
		}
		seen[k] = true
	}
	must := []MethodKey{{ClassBasic, MethodBasicPublish}, {ClassConnection, MethodConnectionStartOk},
		{ClassBasic, MethodBasicNack}, {ClassConfirm, MethodConfirmSelect}, {ClassChannel, MethodChannelCloseOk}}
	for _, k := range must {
		if !seen[k] {
			t.Errorf("%v missing", k)
		}
	}
	for _, k := range []MethodKey{{ClassBasic, MethodBasicDeliver}, {ClassConnection, MethodConnectionStart},
		{ClassBasic, MethodBasicCancelOk}, {ClassBasic, MethodBasicRecoverAsync}} {
		if seen[k] {
			t.Errorf("%v: a server need not handle it", k)
		}
	}
}

func TestAMQPWireDecodeMethodErrors(t *testing.T) {
	declare := ids(ClassQueue, MethodQueueDeclare) + "\x00\x00" + ss("q") + "\x00"
	cases := []struct {
		name    string
		payload string
		code    uint16
	}{
		{"empty", "", ReplyFrameError},
		{"class only", "\x00\x3c", ReplyFrameError},
		{"unknown class", "\x00\x63\x00\x0a", ReplyNotImplemented},
		{"unknown method", "\x00\x3c\x00\x63", ReplyNotImplemented},
		{"shortstr past end", ids(60, 40) + "\x00\x00\x05amq", ReplySyntaxError},
		{"longstr past end", ids(10, 11) + "\xff\xff\xff\xff", ReplySyntaxError},
		{"table past end", declare + "\x00\x00\x00\x10", ReplySyntaxError},
		{"table key past table", declare + tbl("\x05k"), ReplySyntaxError},
		{"unknown field type", declare + tbl(ss("k")+"Z"), ReplySyntaxError},
		{"field past table", declare + tbl(ss("k")+"I\x00\x00") + "\x00\x00", ReplySyntaxError},
		{"array past end", declare + tbl(ss("k")+"A\x00\x00\x00\x09t\x01"), ReplySyntaxError},
		{"array element past array", declare + tbl(ss("k")+"A\x00\x00\x00\x02"+"I\x00\x00\x00\x01"), ReplySyntaxError},
		{"nested 65 deep", declare + nested(65), ReplySyntaxError},
		{"trailing octets", ids(60, 80) + "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00", ReplySyntaxError},
	}
	for _, c := range cases {
		_, err := DecodeMethod([]byte(c.payload))
		checkCode(t, c.name, err, c.code)
		var e *Error
		errors.As(err, &e)
		if len(c.payload) >= 4 && (e.ClassID != binary.BigEndian.Uint16([]byte(c.payload)) || e.MethodID != binary.BigEndian.Uint16([]byte(c.payload[2:]))) {
			t.Errorf("%s: error names %d.%d", c.name, e.ClassID, e.MethodID)
		}
	}
	if _, err := DecodeMethod([]byte(declare + nested(64))); err != nil {
		t.Errorf("nested 64 deep: %v", err)
	}
}

// nested is a field table holding arrays nested so that depth containers
// enclose the innermost value.
func nested(depth int) string {
	v := "V"
	for range depth - 1 {
		v = "A" + ls(v)
	}
	return tbl(ss("k") + v)
}

func TestAMQPWireEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	self := core.Table{}
	self["self"] = self
	cases := []struct {
		name string
		m    Method
	}{
		{"shortstr over 255", &BasicPublish{Exchange: long}},
		{"table key over 255", &QueueDeclare{Arguments: core.Table{long: nil}}},
		{"unsupported type", &QueueDeclare{Arguments: core.Table{"k": struct{}{}}}},
		{"uint64 over int64", &QueueDeclare{Arguments: core.Table{"k": uint64(1 << 63)}}},
		{"self-referencing table", &QueueDeclare{Arguments: self}},
	}
	for _, c := range cases {
		dst := []byte("keep")
		out, err := AppendMethodFrame(dst, 1, c.m)
		checkCode(t, c.name, err, ReplyInternalError)
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q", c.name, out)
		}
		var e *Error
		errors.As(err, &e)
		if e.ClassID != c.m.ClassID() || e.MethodID != c.m.MethodID() {
			t.Errorf("%s: error names %d.%d", c.name, e.ClassID, e.MethodID)
		}
	}
	if _, err := AppendMethodFrame(nil, 1, nil); err == nil {
		t.Error("nil method encoded")
	}
}

func TestAMQPWireReplyCodes(t *testing.T) {
	cases := []struct {
		code       uint16
		name       string
		soft, hard bool
	}{
		{ReplySuccess, "REPLY_SUCCESS", false, false},
		{ReplyNoRoute, "NO_ROUTE", true, false},
		{ReplyAccessRefused, "ACCESS_REFUSED", true, false},
		{ReplyNotFound, "NOT_FOUND", true, false},
		{ReplyPreconditionFailed, "PRECONDITION_FAILED", true, false},
		{ReplyConnectionForced, "CONNECTION_FORCED", false, true},
		{ReplyFrameError, "FRAME_ERROR", false, true},
		{ReplyNotImplemented, "NOT_IMPLEMENTED", false, true},
		{999, "", false, false},
	}
	for _, c := range cases {
		if got := ReplyCodeName(c.code); got != c.name {
			t.Errorf("ReplyCodeName(%d) = %q, want %q", c.code, got, c.name)
		}
		if IsSoftError(c.code) != c.soft || IsHardError(c.code) != c.hard {
			t.Errorf("%d: soft %t hard %t", c.code, IsSoftError(c.code), IsHardError(c.code))
		}
	}
	if ReplyNotFound != 404 || ReplyAccessRefused != 403 || FrameEnd != 0xCE || FrameMinSize != 4096 {
		t.Error("constants differ from the spec")
	}
	e := &Error{Code: ReplySyntaxError, ClassID: 60, MethodID: 40, Reason: "bad"}
	if got := e.Error(); got != "amqp SYNTAX_ERROR - bad (basic.publish)" {
		t.Errorf("Error() = %q", got)
	}
}
