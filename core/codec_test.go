package core

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The persistence codec (codec.go): what core writes to the store must come
// back exactly, and no stored bytes, however corrupt, may panic the decoder.

// goldenTables pin the table encoding: stores written by one build are read
// by the next. They feed the encode and decode tests and the fuzz seeds.
var goldenTables = []struct {
	name string
	t    Table
	hex  string
}{
	{"empty", Table{}, "0100"},
	{"void", Table{"n": nil}, "0101016e00"},
	{"bool", Table{"b": true}, "010101620101"},
	{"int8", Table{"a": int8(-1)}, "010101610201"},
	{"uint16", Table{"u": uint16(300)}, "01010175" + "05ac02"},
	{"string", Table{"s": "hi"}, "01010173" + "0c026869"},
	{"decimal", Table{"d": Decimal{Scale: 2, Value: 314}}, "01010164" + "0b02f404"},
	{"array", Table{"x": []any{uint16(300), "a"}}, "01010178" + "0e02" + "05ac02" + "0c0161"},
	{"nested table", Table{"t": Table{"k": int64(1)}}, "01010174" + "1001016b0802"},
	{"keys sorted", Table{"b": false, "a": int32(-2)}, "0102" + "0161" + "0603" + "0162" + "0100"},
	{"time in seconds", Table{"t": time.Unix(1700000000, 0)}, "01010174" + "0f" + "80c49fd50c"},
	{"bytes", Table{"p": []byte{0, 0xff}}, "01010170" + "0d0200ff"},
}

func TestCodecGoldenTables(t *testing.T) {
	for _, g := range goldenTables {
		t.Run(g.name, func(t *testing.T) {
			want, err := hex.DecodeString(g.hex)
			must(t, err)
			if got := encodeTable(g.t); !bytes.Equal(got, want) {
				t.Fatalf("encodeTable = %x, want %x", got, want)
			}
			got, err := decodeTable(want)
			must(t, err)
			if !reflect.DeepEqual(got, g.t) {
				t.Fatalf("decodeTable = %#v, want %#v", got, g.t)
			}
		})
	}
}

// TestCodecTableValues round-trips every value type a Table may hold, at its
// limits, alone, in an array and in a nested table.
func TestCodecTableValues(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want any // nil: v itself
	}{
		{"void", nil, nil},
		{"true", true, nil},
		{"false", false, nil},
		{"int8 min", int8(math.MinInt8), nil},
		{"int8 max", int8(math.MaxInt8), nil},
		{"uint8 max", uint8(math.MaxUint8), nil},
		{"int16 min", int16(math.MinInt16), nil},
		{"uint16 max", uint16(math.MaxUint16), nil},
		{"int32 min", int32(math.MinInt32), nil},
		{"uint32 max", uint32(math.MaxUint32), nil},
		{"int64 min", int64(math.MinInt64), nil},
		{"int64 max", int64(math.MaxInt64), nil},
		{"int is int64", int(-42), int64(-42)},
		{"float32", float32(-1.5e-7), nil},
		{"float32 inf", float32(math.Inf(1)), nil},
		{"float64", math.Pi, nil},
		{"float64 -0", math.Copysign(0, -1), nil},
		{"float64 max", math.MaxFloat64, nil},
		{"decimal", Decimal{Scale: 255, Value: math.MinInt32}, nil},
		{"string", "héllo\x00world", nil},
		{"empty string", "", nil},
		{"long string", strings.Repeat("x", 70000), nil},
		{"bytes", []byte{0, 1, 2, 0xff}, nil},
		{"empty array", []any{}, nil},
		{"array of everything", []any{nil, true, int8(1), uint8(2), int16(3), uint16(4), int32(5), uint32(6),
			int64(7), float32(8), float64(9), Decimal{1, 10}, "s", []byte("b"), []any{"inner"},
			time.Unix(11, 0), Table{"k": "v"}}, nil},
		{"time", time.Unix(1767225600, 0), nil},
		{"time before 1970", time.Unix(-86400, 0), nil},
		{"time far away", time.Unix(1<<40, 0), nil},
		{"time loses sub-seconds", time.Unix(5, 999999999), time.Unix(5, 0)},
		{"empty table", Table{}, nil},
		{"nested tables", Table{"a": Table{"b": Table{"c": []any{Table{"d": int16(-4)}}}}}, nil},
		{"map[string]any is a Table", map[string]any{"k": int8(1)}, Table{"k": int8(1)}},
		{"other types are kept printed", uint64(1 << 63), "9223372036854775808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.v
			}
			in := Table{"v": tt.v, "arr": []any{tt.v}, "tab": Table{"v": tt.v}}
			out := Table{"v": want, "arr": []any{want}, "tab": Table{"v": want}}
			got, err := decodeTable(encodeTable(in))
			must(t, err)
			if !reflect.DeepEqual(got, out) {
				t.Fatalf("round trip of %#v\n got %#v\nwant %#v", in, got, out)
			}
		})
	}
}

func TestCodecNaN(t *testing.T) {
	f32 := math.Float32frombits(0x7fc00001)
	f64 := math.Float64frombits(0x7ff8000000000001)
	got, err := decodeTable(encodeTable(Table{"a": f32, "b": f64}))
	must(t, err)
	if g, ok := got["a"].(float32); !ok || math.Float32bits(g) != 0x7fc00001 {
		t.Errorf("float32 NaN came back as %#v", got["a"])
	}
	if g, ok := got["b"].(float64); !ok || math.Float64bits(g) != 0x7ff8000000000001 {
		t.Errorf("float64 NaN came back as %#v", got["b"])
	}
}

// TestCodecNesting: as deep as an AMQP client may nest tables and arrays
// (the AMQP front-end allows 64 levels) comes back; deeper is refused as
// corrupt, without exhausting the stack.
func TestCodecNesting(t *testing.T) {
	nest := func(levels int, array bool) Table {
		var v any = "leaf"
		for i := 0; i < levels; i++ {
			if array && i%2 == 0 {
				v = []any{v}
			} else {
				v = Table{"k": v}
			}
		}
		return Table{"top": v}
	}
	for _, array := range []bool{false, true} {
		in := nest(64, array)
		got, err := decodeTable(encodeTable(in))
		if err != nil {
			t.Fatalf("64 levels (arrays %v): %v", array, err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("64 levels (arrays %v) came back different", array)
		}
		m := &Message{Body: []byte("b"), Properties: Properties{Headers: in}}
		if _, err := decodeMessage(encodeMessage(m)); err != nil {
			t.Fatalf("message with 64 levels of headers (arrays %v): %v", array, err)
		}
		if _, err := decodeTable(encodeTable(nest(10000, array))); err == nil {
			t.Fatalf("10000 levels (arrays %v) decoded", array)
		}
	}
}

// fullMessage sets every field of a Message.
func fullMessage() *Message {
	return &Message{
		Exchange:   "amq.topic",
		RoutingKey: "a.b.c",
		Properties: Properties{
			ContentType:     "application/json",
			ContentEncoding: "gzip",
			Headers: Table{"x-int": int32(7), "x-arr": []any{"a", int8(-1)}, "x-tab": Table{"n": nil},
				"x-time": time.Unix(1700000000, 0)},
			DeliveryMode:  Persistent,
			Priority:      9,
			CorrelationID: "corr",
			ReplyTo:       "amq.rabbitmq.reply-to",
			Expiration:    "60000",
			MessageID:     "id-1",
			Timestamp:     time.Unix(1767225600, 0),
			Type:          "order.created",
			UserID:        "guest",
			AppID:         "app",
		},
		Body:      []byte("{\"k\":\"v\"}\x00\xff"),
		GroupID:   "group",
		DedupID:   "dedup",
		Delay:     1500 * time.Millisecond,
		Published: time.Unix(1767225600, 123456789),
	}
}

func TestCodecMessage(t *testing.T) {
	tests := []struct {
		name string
		m    *Message
	}{
		{"every field", fullMessage()},
		{"minimal", &Message{Body: []byte("x")}},
		{"empty headers are kept apart from none", &Message{Properties: Properties{Headers: Table{}}, Body: []byte("x")}},
		{"large body", &Message{Body: bytes.Repeat([]byte{0xab}, 1<<20)}},
		{"negative delay", &Message{Delay: -time.Second, Body: []byte("x")}},
		// AMQP timestamps are seconds: a client that sends milliseconds
		// there still gets back what it sent.
		{"timestamp far in the future", &Message{Properties: Properties{Timestamp: time.Unix(1767225600000, 0)},
			Body: []byte("x")}},
		{"timestamp before 1970", &Message{Properties: Properties{Timestamp: time.Unix(-1, 0)}, Body: []byte("x")}},
		{"timestamp at 1970", &Message{Properties: Properties{Timestamp: time.Unix(0, 0)}, Body: []byte("x")}},
		{"published with nanoseconds", &Message{Published: time.Unix(1, 1), Body: []byte("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMessage(encodeMessage(tt.m))
			must(t, err)
			wantSameMessage(t, got, tt.m)
		})
	}
}

func wantSameMessage(t *testing.T, got, want *Message) {
	t.Helper()
	g, w := *got, *want
	if !g.Properties.Timestamp.Equal(w.Properties.Timestamp) || !g.Published.Equal(w.Published) {
		t.Fatalf("times: got %v / %v, want %v / %v", g.Properties.Timestamp, g.Published,
			w.Properties.Timestamp, w.Published)
	}
	g.Properties.Timestamp, w.Properties.Timestamp = time.Time{}, time.Time{}
	g.Published, w.Published = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", g, w)
	}
}

func TestCodecEntry(t *testing.T) {
	st := &stored{id: 1<<40 + 7, size: 12345, persistent: true, published: -5}
	e := &entry{seq: 99, st: st, expires: 1767225600123456789, ttlExpiry: true, visibleAt: 42,
		priority: 200, deliveries: math.MaxUint32, group: "g\x00roup"}
	msgs := map[uint64]*stored{}
	got, err := decodeEntry(99, encodeEntry(e), msgs)
	must(t, err)
	if got.seq != 99 || got.expires != e.expires || !got.ttlExpiry || got.visibleAt != 42 || got.priority != 200 ||
		got.deliveries != math.MaxUint32 || got.group != e.group || got.idx != -1 {
		t.Fatalf("entry = %+v, want %+v", got, e)
	}
	if got.st.id != st.id || got.st.size != st.size || got.st.published != -5 || !got.st.persistent ||
		!got.st.onDisk.Load() || got.st.refs.Load() != 1 {
		t.Fatalf("stored = %+v", got.st)
	}
	// A second entry of the same message shares the record.
	again, err := decodeEntry(100, encodeEntry(e), msgs)
	must(t, err)
	if again.st != got.st || got.st.refs.Load() != 2 || len(msgs) != 1 {
		t.Fatal("entries of one message do not share its record")
	}
}

// corruptions are the decoders over every kind of stored record, with a
// valid encoding of each.
func corruptions() []struct {
	name   string
	valid  []byte
	decode func([]byte) error
} {
	e := &entry{st: &stored{id: 3, size: 4}, expires: 5, group: "grp", deliveries: 2}
	return []struct {
		name   string
		valid  []byte
		decode func([]byte) error
	}{
		{"message", encodeMessage(fullMessage()), func(b []byte) error { _, err := decodeMessage(b); return err }},
		{"table", encodeTable(fullMessage().Properties.Headers), func(b []byte) error { _, err := decodeTable(b); return err }},
		{"entry", encodeEntry(e), func(b []byte) error {
			_, err := decodeEntry(1, b, map[uint64]*stored{})
			return err
		}},
	}
}

func TestCodecTruncated(t *testing.T) {
	for _, c := range corruptions() {
		for n := 0; n < len(c.valid); n++ {
			if err := c.decode(c.valid[:n]); err == nil {
				t.Errorf("%s truncated to %d of %d bytes decoded without error", c.name, n, len(c.valid))
			}
		}
		if err := c.decode(c.valid); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestCodecCorrupt(t *testing.T) {
	for _, c := range corruptions() {
		wrongVersion := append([]byte{codecVersion + 1}, c.valid[1:]...)
		if err := c.decode(wrongVersion); err == nil {
			t.Errorf("%s with version %d decoded", c.name, codecVersion+1)
		}
		// Flip every bit in turn: an error or a value, never a panic.
		for i := range c.valid {
			for bit := range 8 {
				b := bytes.Clone(c.valid)
				b[i] ^= 1 << bit
				_ = c.decode(b)
			}
		}
	}
	hostile := map[string]string{
		"huge table count":   "01ffffffffffffffffff01",
		"huge string length": "01010161" + "0cffffffffffffffff7f",
		"huge array length":  "01010161" + "0effffffffff0f",
		"unknown tag":        "0101016111",
		"bad varint":         "0101016102ffffffffffffffffffff",
		"key length overrun": "010105",
	}
	for name, h := range hostile {
		b, err := hex.DecodeString(h)
		must(t, err)
		if _, err := decodeTable(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeMessage: no input panics decodeMessage, and what it accepts
// encodes to a canonical form that decodes to the same bytes again.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(fullMessage()))
	f.Add(encodeMessage(&Message{}))
	f.Add(encodeMessage(&Message{Properties: Properties{Headers: Table{"a": []any{Table{"b": int8(1)}}}}}))
	for _, g := range goldenTables {
		m := &Message{Properties: Properties{Headers: g.t}, Body: []byte(g.name)}
		f.Add(encodeMessage(m))
	}
	f.Add([]byte{codecVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		canon := encodeMessage(m)
		m2, err := decodeMessage(canon)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if again := encodeMessage(m2); !bytes.Equal(again, canon) {
			t.Fatalf("encoding is not stable:\n%x\n%x", canon, again)
		}
	})
}

// FuzzDecodeTable does the same for metadata records.
func FuzzDecodeTable(f *testing.F) {
	for _, g := range goldenTables {
		b, _ := hex.DecodeString(g.hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := decodeTable(b)
		if err != nil {
			return
		}
		canon := encodeTable(tb)
		tb2, err := decodeTable(canon)
		if err != nil {
			t.Fatalf("re-encoded table does not decode: %v", err)
		}
		if again := encodeTable(tb2); !bytes.Equal(again, canon) {
			t.Fatalf("encoding is not stable:\n%x\n%x", canon, again)
		}
	})
}

// TestEncodedSizeHint: the hint covers what encodeMessage writes for a
// message with every field and a few headers set, so it allocates once.
func TestEncodedSizeHint(t *testing.T) {
	m := &Message{Exchange: "x", RoutingKey: "rk", Body: []byte("a body of some length"), GroupID: "g", DedupID: "d",
		Properties: Properties{ContentType: "text/plain", MessageID: "0f0e7c3a-6f1c-4b47-9d0c-3a1b2c3d4e5f",
			CorrelationID: "c", ReplyTo: "r", Type: "t", UserID: "u", AppID: "a", Expiration: "1000", Priority: 3,
			DeliveryMode: 2, Timestamp: time.Unix(1700000000, 5),
			Headers: Table{"s": "a string value", "n": int64(-1 << 40), "b": []byte("bytes"), "f": 1.5, "ok": true}}}
	if got, hint := len(encodeMessage(m)), encodedSizeHint(m); got > hint {
		t.Fatalf("encoded %d bytes, hint %d", got, hint)
	}
}
