package wire

import (
	"reflect"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
)

// decodeTable decodes a field table (its length included) that must fill b.
func decodeTable(b []byte) (core.Table, error) {
	r := reader{b: b}
	t := r.table()
	if err := r.finish(); err != nil {
		return nil, err
	}
	return t, nil
}

func encodeTable(t core.Table) ([]byte, error) {
	var w buffer
	w.table(t)
	return w.b, w.err
}

func TestAMQPWireFieldGolden(t *testing.T) {
	for _, g := range goldenFields {
		t.Run(g.name, func(t *testing.T) {
			wire := tbl(ss("k") + g.wire)
			got, err := encodeTable(core.Table{"k": g.value})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != wire {
				t.Fatalf("table encoded\n got %q\nwant %q", got, wire)
			}
			table, err := decodeTable([]byte(wire))
			if err != nil {
				t.Fatal(err)
			}
			if want := (core.Table{"k": g.value}); !reflect.DeepEqual(table, want) {
				t.Fatalf("table decoded\n got %#v\nwant %#v", table, want)
			}
			// The same value as an array element.
			var w buffer
			w.array([]any{g.value})
			if string(w.b) != tbl(g.wire) || w.err != nil {
				t.Fatalf("array encoded %q, %v; want %q", w.b, w.err, tbl(g.wire))
			}
			r := reader{b: w.b}
			if a := r.array(); r.finish() != nil || !reflect.DeepEqual(a, []any{g.value}) {
				t.Fatalf("array decoded %#v, %v", a, r.err)
			}
		})
	}
}

func TestAMQPWireFieldEncodeOnly(t *testing.T) {
	for _, g := range goldenEncodeOnly {
		got, err := encodeTable(core.Table{"k": g.value})
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if want := tbl(ss("k") + g.wire); string(got) != want {
			t.Errorf("%s: encoded %q, want %q", g.name, got, want)
		}
	}
}

// TestAMQPWireFieldDecodeLenient covers inputs that decode but are not what
// the encoder writes.
func TestAMQPWireFieldDecodeLenient(t *testing.T) {
	cases := []struct {
		name string
		wire string
		want core.Table
	}{
		{"bool any non-zero", tbl(ss("k") + "t\x02"), core.Table{"k": true}},
		{"duplicate names keep the last", tbl(ss("k")+"b\x01", ss("k")+"b\x02"), core.Table{"k": int8(2)}},
		{"empty name", tbl(ss("") + "V"), core.Table{"": nil}},
		{"timestamp before 1970", tbl(ss("k") + "T\xff\xff\xff\xff\xff\xff\xff\xff"), core.Table{"k": time.Unix(-1, 0).UTC()}},
	}
	for _, c := range cases {
		got, err := decodeTable([]byte(c.wire))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}
}

func TestAMQPWireTableSortedNames(t *testing.T) {
	got, err := encodeTable(core.Table{"b": nil, "a": nil, "c": nil, "aa": nil})
	if err != nil {
		t.Fatal(err)
	}
	if want := tbl(ss("a")+"V", ss("aa")+"V", ss("b")+"V", ss("c")+"V"); string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// More names than the encoder's stack array holds.
	big := core.Table{}
	for i := range 40 {
		big[string(rune('A'+i))] = int32(i)
	}
	b, err := encodeTable(big)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decodeTable(b); err != nil || !reflect.DeepEqual(back, big) {
		t.Fatalf("40 names: %v", err)
	}
}

func TestAMQPWireTableNil(t *testing.T) {
	got, err := encodeTable(nil)
	if err != nil || string(got) != "\x00\x00\x00\x00" {
		t.Fatalf("nil table encoded %q, %v", got, err)
	}
	back, err := decodeTable(got)
	if err != nil || back == nil || len(back) != 0 {
		t.Fatalf("empty table decoded %#v, %v", back, err)
	}
}

// TestAMQPWireTableDepth checks that encoder and decoder draw the nesting
// limit at the same depth.
func TestAMQPWireTableDepth(t *testing.T) {
	build := func(depth int) core.Table {
		var v any
		for range depth - 1 {
			v = []any{v}
		}
		return core.Table{"k": v}
	}
	if _, err := encodeTable(build(64)); err != nil {
		t.Fatalf("64 deep: %v", err)
	}
	if _, err := encodeTable(build(65)); err == nil {
		t.Fatal("65 deep encoded")
	}
	if b, _ := encodeTable(build(64)); string(b) != nested(64) {
		t.Fatalf("64 deep encoded %q, want %q", b, nested(64))
	}
}

// TestAMQPWireDecodeTable decodes a table's content without its length
// prefix, as AMQPLAIN's response carries it, and refuses a truncated one.
func TestAMQPWireDecodeTable(t *testing.T) {
	w := buffer{}
	w.table(core.Table{"LOGIN": "guest", "PASSWORD": "secret"})
	got, err := DecodeTable(w.b[4:])
	if err != nil || got["LOGIN"] != "guest" || got["PASSWORD"] != "secret" || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := DecodeTable(w.b[4 : len(w.b)-1]); err == nil {
		t.Fatal("truncated table decoded")
	}
	if got, err := DecodeTable(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v, %v", got, err)
	}
}
