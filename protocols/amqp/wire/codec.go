package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The primitive field codecs of AMQP 0-9-1 §4.2.5, which the generated method
// and property codecs call field by field. Integers are big-endian (§4.2.5.1).

// maxDepth bounds the nesting of field tables and arrays, so a hostile frame
// cannot recurse without end.
const maxDepth = 64

// reader decodes from a byte slice. Its error is sticky: after the first
// failure every read returns a zero value, so generated decoders read field
// after field and check once at the end.
type reader struct {
	b      []byte
	err    error
	class  uint16 // the method being decoded, for *Error
	method uint16
	depth  int // field table and array nesting
}

// newMethodReader reads the class and method ids of a method frame payload
// (AMQP 0-9-1 §4.2.4) and returns a reader over the arguments.
func newMethodReader(payload []byte) (reader, error) {
	if len(payload) < 4 {
		return reader{}, frameError("method frame payload of %d octets cannot hold class and method ids", len(payload))
	}
	return reader{
		b:      payload[4:],
		class:  binary.BigEndian.Uint16(payload),
		method: binary.BigEndian.Uint16(payload[2:]),
	}, nil
}

// fail records the first error as a 502 SYNTAX_ERROR and stops reading.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Code: ReplySyntaxError, ClassID: r.class, MethodID: r.method, Reason: fmt.Sprintf(format, args...)}
	}
	r.b = nil
}

// finish fails if octets remain: arguments fill a payload exactly.
func (r *reader) finish() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d octets after the last argument", len(r.b))
	}
	return r.err
}

func (r *reader) truncated(what string, need int) {
	if r.err == nil {
		r.fail("truncated %s: needs %d octets, %d remain", what, need, len(r.b))
	}
}

func (r *reader) octet() uint8 {
	if len(r.b) < 1 {
		r.truncated("octet", 1)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) short() uint16 {
	if len(r.b) < 2 {
		r.truncated("short", 2)
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) long() uint32 {
	if len(r.b) < 4 {
		r.truncated("long", 4)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) longlong() uint64 {
	if len(r.b) < 8 {
		r.truncated("longlong", 8)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes returns the next n octets without copying, after checking that n
// octets remain.
func (r *reader) bytes(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("%s of %d octets exceeds the %d that remain", what, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// shortstr reads a short string: a length octet and up to 255 octets
// (AMQP 0-9-1 §4.2.5.3).
func (r *reader) shortstr() string {
	n := r.octet()
	return string(r.bytes(uint64(n), "shortstr"))
}

// longstr reads a long string: a 32-bit length and that many octets
// (AMQP 0-9-1 §4.2.5.3).
func (r *reader) longstr() string {
	n := r.long()
	return string(r.bytes(uint64(n), "longstr"))
}

// longstrBytes reads a long string as a copy; empty reads as nil.
func (r *reader) longstrBytes() []byte {
	n := r.long()
	p := r.bytes(uint64(n), "longstr")
	if len(p) == 0 {
		return nil
	}
	return bytes.Clone(p)
}

// timestamp reads a 64-bit POSIX time in seconds (AMQP 0-9-1 §4.2.5.4), in UTC.
func (r *reader) timestamp() time.Time {
	return time.Unix(int64(r.longlong()), 0).UTC()
}

// buffer encodes by appending to b. Its error is sticky like reader's.
type buffer struct {
	b     []byte
	err   error
	depth int // field table and array nesting
}

// fail records the first error: a value this codec cannot put on the wire.
func (w *buffer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = &Error{Code: ReplyInternalError, Reason: fmt.Sprintf(format, args...)}
	}
}

func (w *buffer) octet(v uint8)     { w.b = append(w.b, v) }
func (w *buffer) short(v uint16)    { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *buffer) long(v uint32)     { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *buffer) longlong(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

// shortstr writes a short string; longer than 255 octets is an error
// (AMQP 0-9-1 §4.2.5.3).
func (w *buffer) shortstr(s string) {
	if len(s) > math.MaxUint8 {
		w.fail("shortstr of %d octets exceeds 255: %.32q…", len(s), s)
		return
	}
	w.b = append(w.b, byte(len(s)))
	w.b = append(w.b, s...)
}

func (w *buffer) longstr(s string) {
	if uint64(len(s)) > math.MaxUint32 {
		w.fail("longstr of %d octets exceeds 2^32-1", len(s))
		return
	}
	w.long(uint32(len(s)))
	w.b = append(w.b, s...)
}

func (w *buffer) longstrBytes(p []byte) {
	if uint64(len(p)) > math.MaxUint32 {
		w.fail("longstr of %d octets exceeds 2^32-1", len(p))
		return
	}
	w.long(uint32(len(p)))
	w.b = append(w.b, p...)
}

// timestamp writes t as 64-bit POSIX seconds; sub-second precision is lost.
func (w *buffer) timestamp(t time.Time) { w.longlong(uint64(t.Unix())) }
