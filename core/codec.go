package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// The persistence codec: how core writes messages, queue entries and metadata
// records into the store. It is core's own format (not a wire protocol): a
// version byte, then fields in a fixed order; tables carry a type byte per
// value so that an int8 header comes back an int8.

const codecVersion = 1

var errCorrupt = errors.New("core: corrupt record")

// maxTableDepth bounds nesting when decoding, so a corrupt record cannot
// recurse without end.
const maxTableDepth = 64

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)    { e.b = append(e.b, v) }
func (e *encoder) uvar(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) svar(v int64)  { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)  { e.uvar(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte) {
	e.uvar(uint64(len(p)))
	e.b = append(e.b, p...)
}
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// time writes a presence byte, then seconds and nanoseconds: UnixNano would
// overflow outside 1678–2262 (an AMQP timestamp is any uint64 of seconds) and
// could not tell the Unix epoch from no time.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.u8(0)
		return
	}
	e.u8(1)
	e.svar(t.Unix())
	e.uvar(uint64(t.Nanosecond()))
}

// Value type tags of the table codec.
const (
	tagVoid byte = iota
	tagBool
	tagInt8
	tagUint8
	tagInt16
	tagUint16
	tagInt32
	tagUint32
	tagInt64
	tagFloat32
	tagFloat64
	tagDecimal
	tagString
	tagBytes
	tagArray
	tagTime
	tagTable
)

func (e *encoder) table(t Table) {
	e.uvar(uint64(len(t)))
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic records
	for _, k := range keys {
		e.str(k)
		e.value(t[k])
	}
}

func (e *encoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.u8(tagVoid)
	case bool:
		e.u8(tagBool)
		e.bool(x)
	case int8:
		e.u8(tagInt8)
		e.svar(int64(x))
	case uint8:
		e.u8(tagUint8)
		e.uvar(uint64(x))
	case int16:
		e.u8(tagInt16)
		e.svar(int64(x))
	case uint16:
		e.u8(tagUint16)
		e.uvar(uint64(x))
	case int32:
		e.u8(tagInt32)
		e.svar(int64(x))
	case uint32:
		e.u8(tagUint32)
		e.uvar(uint64(x))
	case int64:
		e.u8(tagInt64)
		e.svar(x)
	case int:
		e.u8(tagInt64)
		e.svar(int64(x))
	case float32:
		e.u8(tagFloat32)
		e.uvar(uint64(math.Float32bits(x)))
	case float64:
		e.u8(tagFloat64)
		e.uvar(math.Float64bits(x))
	case Decimal:
		e.u8(tagDecimal)
		e.u8(x.Scale)
		e.svar(int64(x.Value))
	case string:
		e.u8(tagString)
		e.str(x)
	case []byte:
		e.u8(tagBytes)
		e.bytes(x)
	case []any:
		e.u8(tagArray)
		e.uvar(uint64(len(x)))
		for _, y := range x {
			e.value(y)
		}
	case time.Time:
		e.u8(tagTime)
		e.svar(x.Unix())
	case Table:
		e.u8(tagTable)
		e.table(x)
	case map[string]any:
		e.u8(tagTable)
		e.table(Table(x))
	default:
		// Front-ends only put the documented types in tables; anything else
		// is kept as its printed form rather than dropped.
		e.u8(tagString)
		e.str(fmt.Sprint(x))
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
}

func (d *decoder) u8() uint8 {
	if d.err != nil || len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvar() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) svar() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw() []byte {
	n := d.uvar()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) str() string   { return string(d.raw()) }
func (d *decoder) bytes() []byte { return append([]byte(nil), d.raw()...) }
func (d *decoder) bool() bool    { return d.u8() != 0 }
func (d *decoder) time() time.Time {
	if !d.bool() {
		return time.Time{}
	}
	sec, ns := d.svar(), d.uvar()
	if ns >= uint64(time.Second) {
		d.fail()
	}
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(ns))
}

func (d *decoder) table(depth int) Table {
	n := d.uvar()
	if d.err != nil || n > uint64(len(d.b)) || depth > maxTableDepth {
		d.fail()
		return nil
	}
	t := make(Table, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.str()
		t[k] = d.value(depth + 1)
	}
	return t
}

func (d *decoder) value(depth int) any {
	switch d.u8() {
	case tagVoid:
		return nil
	case tagBool:
		return d.bool()
	case tagInt8:
		return int8(d.svar())
	case tagUint8:
		return uint8(d.uvar())
	case tagInt16:
		return int16(d.svar())
	case tagUint16:
		return uint16(d.uvar())
	case tagInt32:
		return int32(d.svar())
	case tagUint32:
		return uint32(d.uvar())
	case tagInt64:
		return d.svar()
	case tagFloat32:
		return math.Float32frombits(uint32(d.uvar()))
	case tagFloat64:
		return math.Float64frombits(d.uvar())
	case tagDecimal:
		s := d.u8()
		return Decimal{Scale: s, Value: int32(d.svar())}
	case tagString:
		return d.str()
	case tagBytes:
		return d.bytes()
	case tagArray:
		n := d.uvar()
		if d.err != nil || n > uint64(len(d.b)) || depth > maxTableDepth {
			d.fail()
			return nil
		}
		a := make([]any, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			a = append(a, d.value(depth+1))
		}
		return a
	case tagTime:
		return time.Unix(d.svar(), 0)
	case tagTable:
		// depth already counts this value's nesting: one level per table or
		// array, as the AMQP codec counts (it accepts 64).
		return d.table(depth)
	default:
		d.fail()
		return nil
	}
}

// encodeMessage is the stored form of a message.
func encodeMessage(m *Message) []byte {
	e := encoder{b: make([]byte, 0, encodedSizeHint(m))}
	e.u8(codecVersion)
	e.str(m.Exchange)
	e.str(m.RoutingKey)
	p := &m.Properties
	e.str(p.ContentType)
	e.str(p.ContentEncoding)
	e.bool(p.Headers != nil)
	if p.Headers != nil {
		e.table(p.Headers)
	}
	e.u8(p.DeliveryMode)
	e.u8(p.Priority)
	e.str(p.CorrelationID)
	e.str(p.ReplyTo)
	e.str(p.Expiration)
	e.str(p.MessageID)
	e.time(p.Timestamp)
	e.str(p.Type)
	e.str(p.UserID)
	e.str(p.AppID)
	e.str(m.GroupID)
	e.str(m.DedupID)
	e.svar(int64(m.Delay))
	e.time(m.Published)
	e.bytes(m.Body)
	return e.b
}

// encodedSizeHint is about what encodeMessage writes for m, never much less,
// so that it allocates once: the strings and the body, a few bytes for each
// number, flag and length, and the headers' keys and string values.
func encodedSizeHint(m *Message) int {
	p := &m.Properties
	n := 64 + len(m.Exchange) + len(m.RoutingKey) + len(p.ContentType) + len(p.ContentEncoding) +
		len(p.CorrelationID) + len(p.ReplyTo) + len(p.Expiration) + len(p.MessageID) + len(p.Type) +
		len(p.UserID) + len(p.AppID) + len(m.GroupID) + len(m.DedupID) + len(m.Body)
	for k, v := range p.Headers {
		n += len(k) + 16
		switch v := v.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		}
	}
	return n
}

func decodeMessage(b []byte) (*Message, error) {
	d := decoder{b: b}
	if d.u8() != codecVersion {
		return nil, errCorrupt
	}
	m := &Message{}
	m.Exchange = d.str()
	m.RoutingKey = d.str()
	p := &m.Properties
	p.ContentType = d.str()
	p.ContentEncoding = d.str()
	if d.bool() {
		p.Headers = d.table(0)
	}
	p.DeliveryMode = d.u8()
	p.Priority = d.u8()
	p.CorrelationID = d.str()
	p.ReplyTo = d.str()
	p.Expiration = d.str()
	p.MessageID = d.str()
	p.Timestamp = d.time()
	p.Type = d.str()
	p.UserID = d.str()
	p.AppID = d.str()
	m.GroupID = d.str()
	m.DedupID = d.str()
	m.Delay = time.Duration(d.svar())
	m.Published = d.time()
	m.Body = d.bytes()
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// encodeTable and decodeTable store metadata records (exchanges, queues,
// bindings, users) as tables: rare writes, and the typed values of their
// arguments survive.
func encodeTable(t Table) []byte {
	e := encoder{}
	e.u8(codecVersion)
	e.table(t)
	return e.b
}

func decodeTable(b []byte) (Table, error) {
	d := decoder{b: b}
	if d.u8() != codecVersion {
		return nil, errCorrupt
	}
	t := d.table(0)
	if d.err != nil {
		return nil, d.err
	}
	return t, nil
}
