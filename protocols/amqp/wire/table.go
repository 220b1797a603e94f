package wire

import (
	"encoding/binary"
	"math"
	"slices"
	"time"

	"github.com/mqgate/mqgate/core"
)

// Field tables and arrays (AMQP 0-9-1 §4.2.5.5) with RabbitMQ's type letters;
// doc.go has the table of letters and Go types.

// table reads a field table: a 32-bit length, then name-value pairs, each a
// shortstr name, a type letter and the value. A decoded table is never nil.
// Duplicate names keep the last value.
func (r *reader) table() core.Table {
	n := r.long()
	body := r.bytes(uint64(n), "field table")
	if r.err != nil {
		return nil
	}
	if r.depth >= maxDepth {
		r.fail("field tables and arrays nest deeper than %d", maxDepth)
		return nil
	}
	sub := reader{b: body, class: r.class, method: r.method, depth: r.depth + 1}
	t := make(core.Table)
	for len(sub.b) > 0 {
		k := sub.shortstr()
		v := sub.field()
		if sub.err != nil {
			break
		}
		t[k] = v
	}
	if sub.err != nil {
		r.err, r.b = sub.err, nil
		return nil
	}
	return t
}

// array reads a field array: a 32-bit length, then values, each a type letter
// and the value. A decoded array is never nil.
func (r *reader) array() []any {
	n := r.long()
	body := r.bytes(uint64(n), "field array")
	if r.err != nil {
		return nil
	}
	if r.depth >= maxDepth {
		r.fail("field tables and arrays nest deeper than %d", maxDepth)
		return nil
	}
	sub := reader{b: body, class: r.class, method: r.method, depth: r.depth + 1}
	a := []any{}
	for len(sub.b) > 0 {
		v := sub.field()
		if sub.err != nil {
			break
		}
		a = append(a, v)
	}
	if sub.err != nil {
		r.err, r.b = sub.err, nil
		return nil
	}
	return a
}

// field reads a type letter and a value. An unknown letter is an error: the
// value's length cannot be known, so nothing after it can be read.
func (r *reader) field() any {
	typ := r.octet()
	if r.err != nil {
		return nil
	}
	switch typ {
	case 't':
		return r.octet() != 0
	case 'b':
		return int8(r.octet())
	case 'B':
		return r.octet()
	case 's':
		return int16(r.short())
	case 'u':
		return r.short()
	case 'I':
		return int32(r.long())
	case 'i':
		return r.long()
	case 'l':
		return int64(r.longlong())
	case 'f':
		return math.Float32frombits(r.long())
	case 'd':
		return math.Float64frombits(r.longlong())
	case 'D':
		scale := r.octet()
		return core.Decimal{Scale: scale, Value: int32(r.long())}
	case 'S':
		return r.longstr()
	case 'x':
		n := r.long()
		p := r.bytes(uint64(n), "byte array")
		if r.err != nil {
			return nil
		}
		return append([]byte{}, p...) // a copy, and []byte{} rather than nil when empty
	case 'T':
		return r.timestamp()
	case 'F':
		return r.table()
	case 'A':
		return r.array()
	case 'V':
		return nil
	}
	r.fail("unknown field type %q", typ)
	return nil
}

// table writes t with its names in sorted order, so that equal tables encode
// to equal bytes. A nil table is an empty one.
func (w *buffer) table(t core.Table) {
	if w.depth >= maxDepth {
		w.fail("field tables and arrays nest deeper than %d", maxDepth)
		return
	}
	w.depth++
	start := w.lengthPrefix()
	var small [16]string
	keys := small[:0]
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.shortstr(k)
		w.field(t[k])
	}
	w.patchLength(start, "field table")
	w.depth--
}

func (w *buffer) array(a []any) {
	if w.depth >= maxDepth {
		w.fail("field tables and arrays nest deeper than %d", maxDepth)
		return
	}
	w.depth++
	start := w.lengthPrefix()
	for _, v := range a {
		w.field(v)
	}
	w.patchLength(start, "field array")
	w.depth--
}

// lengthPrefix reserves a 32-bit length and returns where its content starts.
func (w *buffer) lengthPrefix() int {
	w.b = append(w.b, 0, 0, 0, 0)
	return len(w.b)
}

func (w *buffer) patchLength(start int, what string) {
	n := len(w.b) - start
	if uint64(n) > math.MaxUint32 {
		w.fail("%s of %d octets exceeds 2^32-1", what, n)
		return
	}
	binary.BigEndian.PutUint32(w.b[start-4:], uint32(n))
}

// field writes a type letter and a value. A Go type with no letter is an
// error, never a silent drop.
func (w *buffer) field(v any) {
	switch v := v.(type) {
	case nil:
		w.octet('V')
	case bool:
		w.octet('t')
		if v {
			w.octet(1)
		} else {
			w.octet(0)
		}
	case int8:
		w.octet('b')
		w.octet(uint8(v))
	case uint8:
		w.octet('B')
		w.octet(v)
	case int16:
		w.octet('s')
		w.short(uint16(v))
	case uint16:
		w.octet('u')
		w.short(v)
	case int32:
		w.octet('I')
		w.long(uint32(v))
	case uint32:
		w.octet('i')
		w.long(v)
	case int64:
		w.octet('l')
		w.longlong(uint64(v))
	case int:
		w.octet('l')
		w.longlong(uint64(v))
	case uint64:
		if v > math.MaxInt64 {
			w.fail("uint64 field value %d exceeds the signed 64-bit 'l'", v)
			return
		}
		w.octet('l')
		w.longlong(v)
	case float32:
		w.octet('f')
		w.long(math.Float32bits(v))
	case float64:
		w.octet('d')
		w.longlong(math.Float64bits(v))
	case core.Decimal:
		w.octet('D')
		w.octet(v.Scale)
		w.long(uint32(v.Value))
	case string:
		w.octet('S')
		w.longstr(v)
	case []byte:
		w.octet('x')
		w.longstrBytes(v)
	case time.Time:
		w.octet('T')
		w.timestamp(v)
	case core.Table:
		w.octet('F')
		w.table(v)
	case map[string]any:
		w.octet('F')
		w.table(v)
	case []any:
		w.octet('A')
		w.array(v)
	default:
		w.fail("field value of type %T has no AMQP field type", v)
	}
}

// DecodeTable decodes the content of a field table: name-value pairs without
// the 32-bit length that prefixes a table inside a method. AMQPLAIN's SASL
// response is such a table. Errors are *Error with code 502.
func DecodeTable(p []byte) (core.Table, error) {
	r := reader{b: p, depth: 1}
	t := make(core.Table)
	for len(r.b) > 0 {
		k := r.shortstr()
		v := r.field()
		if r.err != nil {
			return nil, r.err
		}
		t[k] = v
	}
	return t, nil
}
