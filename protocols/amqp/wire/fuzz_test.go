package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
	"time"
)

// Fuzz targets. Seeds are the golden tables; crashers found later belong in
// testdata/fuzz/<target>.

// fuzzFrameMax is small so that the fuzzer reaches the limit easily.
const fuzzFrameMax = FrameMinSize + 512

func FuzzFrameReader(f *testing.F) {
	for _, g := range goldenFrames {
		f.Add([]byte(g.wire))
	}
	for _, g := range goldenMethods {
		f.Add([]byte(methodFrame(1, g.payload)))
	}
	content, _ := AppendContent(nil, 1, &BasicPublish{RoutingKey: "q"}, &goldenHeaders[2].header.Properties, make([]byte, 6000), fuzzFrameMax)
	f.Add(content)
	f.Add([]byte("\x03\x00\x01\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFrameReader(bufio.NewReader(bytes.NewReader(data)), fuzzFrameMax)
		var again []byte
		for {
			fm, err := fr.ReadFrame()
			if err != nil {
				var e *Error
				if err != io.EOF && err != io.ErrUnexpectedEOF && !(errors.As(err, &e) && e.Code == ReplyFrameError) {
					t.Fatalf("error %v", err)
				}
				break
			}
			if len(fm.Payload)+frameOverhead > fuzzFrameMax {
				t.Fatalf("payload of %d octets past frame-max %d", len(fm.Payload), fuzzFrameMax)
			}
			again = AppendFrame(again, fm)
		}
		if fr.maxAlloc > fuzzFrameMax {
			t.Fatalf("allocated %d octets, frame-max %d", fr.maxAlloc, fuzzFrameMax)
		}
		// The frames read are the input's prefix, octet for octet.
		if !bytes.HasPrefix(data, again) {
			t.Fatalf("frames re-encode to %q, not a prefix of the input", again)
		}
	})
}

func FuzzDecodeMethod(f *testing.F) {
	for _, g := range goldenMethods {
		f.Add([]byte(g.payload))
	}
	for _, g := range goldenFields {
		f.Add([]byte(ids(ClassQueue, MethodQueueDeclare) + "\x00\x00" + ss("q") + "\x00" + tbl(ss("k")+g.wire)))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := DecodeMethod(payload)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != ReplyFrameError && e.Code != ReplySyntaxError && e.Code != ReplyNotImplemented {
				t.Fatalf("error %v", err)
			}
			return
		}
		b1, err := AppendMethodFrame(nil, 1, m)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", m, err)
		}
		m2, err := DecodeMethod(b1[7 : len(b1)-1])
		if err != nil {
			t.Fatalf("decode re-encoded %q: %v", b1, err)
		}
		if !equalNaN(m, m2) {
			t.Fatalf("round trip\nfirst  %#v\nsecond %#v", m, m2)
		}
		b2, _ := AppendMethodFrame(nil, 1, m2)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encodings differ\n%q\n%q", b1, b2)
		}
	})
}

func FuzzTable(f *testing.F) {
	for _, g := range goldenFields {
		f.Add([]byte(tbl(ss("k") + g.wire)))
	}
	f.Add([]byte(nested(64)))
	f.Add([]byte(nested(65)))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := decodeTable(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != ReplySyntaxError {
				t.Fatalf("error %v", err)
			}
			return
		}
		b1, err := encodeTable(table)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", table, err)
		}
		table2, err := decodeTable(b1)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if !equalNaN(table, table2) {
			t.Fatalf("round trip\nfirst  %#v\nsecond %#v", table, table2)
		}
		if b2, _ := encodeTable(table2); !bytes.Equal(b1, b2) {
			t.Fatalf("encodings differ")
		}
	})
}

func FuzzContentHeader(f *testing.F) {
	for _, g := range goldenHeaders {
		f.Add([]byte(g.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var h ContentHeader
		if err := h.Decode(payload); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v", err)
			}
			return
		}
		b, err := AppendHeaderFrame(nil, 1, h.ClassID, h.BodySize, &h.Properties)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", h, err)
		}
		var h2 ContentHeader
		if err := h2.Decode(b[7 : len(b)-1]); err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		h.Weight = 0 // not kept by the encoder
		if !equalNaN(h, h2) {
			t.Fatalf("round trip\nfirst  %#v\nsecond %#v", h, h2)
		}
	})
}

// equalNaN is reflect.DeepEqual, except that NaN equals NaN: a float field
// value decodes to the same bits each time but NaN != NaN.
func equalNaN(a, b any) bool {
	return reflect.DeepEqual(a, b) || reflect.DeepEqual(withoutNaN(reflect.ValueOf(a)), withoutNaN(reflect.ValueOf(b)))
}

// withoutNaN returns a copy of v's tables with NaN replaced by a marker.
func withoutNaN(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return withoutNaN(v.Elem())
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return t
		}
		out := make([]any, v.NumField())
		for i := range out {
			out[i] = withoutNaN(v.Field(i))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return withoutNaN(v.Elem())
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = withoutNaN(v.MapIndex(k))
		}
		return out
	case reflect.Slice:
		if b, ok := v.Interface().([]byte); ok {
			return b
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = withoutNaN(v.Index(i))
		}
		return out
	case reflect.Float32, reflect.Float64:
		if math.IsNaN(v.Float()) {
			return "NaN"
		}
	}
	return v.Interface()
}
