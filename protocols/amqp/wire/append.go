package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Encoding frames. Every function appends to dst and returns the extended
// slice, so a connection's writer can coalesce many frames into one write and
// reuse its buffer. On error nothing is appended: dst comes back unchanged.

// frameOverhead is the frame header (type, channel, size) plus frame-end.
const frameOverhead = 8

// AppendFrame appends f: the 7-octet header, the payload and the frame-end
// octet (AMQP 0-9-1 §4.2.3). A payload longer than 2^32-1 octets cannot be
// framed; AppendFrame panics on one, as the caller sized it.
func AppendFrame(dst []byte, f Frame) []byte {
	if uint64(len(f.Payload)) > math.MaxUint32 {
		panic("wire: frame payload exceeds 2^32-1 octets")
	}
	dst = append(dst, f.Type, byte(f.Channel>>8), byte(f.Channel))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.Payload)))
	dst = append(dst, f.Payload...)
	return append(dst, FrameEnd)
}

// AppendHeartbeatFrame appends a heartbeat frame: channel 0, no payload
// (AMQP 0-9-1 §4.2.7).
func AppendHeartbeatFrame(dst []byte) []byte {
	return append(dst, FrameHeartbeat, 0, 0, 0, 0, 0, 0, FrameEnd)
}

// AppendMethodFrame appends a method frame carrying m on channel (AMQP 0-9-1
// §4.2.4). It fails (541, nothing appended) if a value cannot be encoded: a
// shortstr over 255 octets, a table value of a type with no AMQP field type.
// It does not check frame-max; AppendContent does.
func AppendMethodFrame(dst []byte, channel uint16, m Method) ([]byte, error) {
	if m == nil {
		return dst, &Error{Code: ReplyInternalError, Reason: "nil method"}
	}
	w := buffer{b: dst}
	start := w.beginFrame(FrameMethod, channel)
	w.short(m.ClassID())
	w.short(m.MethodID())
	encodeMethod(&w, m)
	w.endFrame(start)
	if w.err != nil {
		if e, ok := w.err.(*Error); ok {
			e.ClassID, e.MethodID = m.ClassID(), m.MethodID()
		}
		return dst, w.err
	}
	return w.b, nil
}

// AppendHeaderFrame appends a content header frame (AMQP 0-9-1 §4.2.6.1) with
// weight zero. classID must be ContentClass; p may be nil for no properties.
func AppendHeaderFrame(dst []byte, channel, classID uint16, bodySize uint64, p *Properties) ([]byte, error) {
	if classID != ContentClass {
		return dst, &Error{Code: ReplyInternalError, Reason: fmt.Sprintf("content header for class %d, which has no content", classID)}
	}
	w := buffer{b: dst}
	start := w.beginFrame(FrameHeader, channel)
	w.short(classID)
	w.short(0) // weight
	w.longlong(bodySize)
	if p == nil {
		w.short(0) // no property flags
	} else {
		p.encode(&w)
	}
	w.endFrame(start)
	if w.err != nil {
		return dst, w.err
	}
	return w.b, nil
}

// AppendBodyFrames appends body as body frames of at most frameMax octets
// each, header and frame-end included (AMQP 0-9-1 §4.2.6.2). An empty body
// has no body frames. frameMax is the negotiated frame-max: 0 means no limit,
// and values below FrameMinSize count as FrameMinSize.
func AppendBodyFrames(dst []byte, channel uint16, body []byte, frameMax uint32) []byte {
	chunk := int(min(uint64(effectiveFrameMax(frameMax))-frameOverhead, math.MaxUint32))
	for len(body) > 0 {
		n := min(len(body), chunk)
		dst = AppendFrame(dst, Frame{Type: FrameBody, Channel: channel, Payload: body[:n]})
		body = body[n:]
	}
	return dst
}

// AppendContent appends a content-carrying method (basic.publish,
// basic.deliver, basic.get-ok, basic.return), its content header and its body
// frames: everything one message takes on the wire. It fails, appending
// nothing, if m carries no content or its method or header frame would exceed
// frameMax (see AppendBodyFrames for frameMax).
func AppendContent(dst []byte, channel uint16, m Method, p *Properties, body []byte, frameMax uint32) ([]byte, error) {
	if m == nil || !m.HasContent() {
		name := "nil method"
		if m != nil {
			name = m.Name()
		}
		return dst, &Error{Code: ReplyInternalError, Reason: name + " carries no content"}
	}
	limit := uint64(effectiveFrameMax(frameMax))
	out, err := AppendMethodFrame(dst, channel, m)
	if err != nil {
		return dst, err
	}
	if n := uint64(len(out) - len(dst)); n > limit {
		return dst, &Error{Code: ReplyInternalError, ClassID: m.ClassID(), MethodID: m.MethodID(),
			Reason: fmt.Sprintf("method frame of %d octets exceeds frame-max %d", n, limit)}
	}
	mark := len(out)
	out, err = AppendHeaderFrame(out, channel, m.ClassID(), uint64(len(body)), p)
	if err != nil {
		return dst, err
	}
	if n := uint64(len(out) - mark); n > limit {
		return dst, &Error{Code: ReplyInternalError, ClassID: m.ClassID(), MethodID: m.MethodID(),
			Reason: fmt.Sprintf("content header frame of %d octets exceeds frame-max %d", n, limit)}
	}
	return AppendBodyFrames(out, channel, body, frameMax), nil
}

// effectiveFrameMax applies the spec's rules to a negotiated frame-max for
// sending: 0 is no limit (AMQP 0-9-1 connection.tune), and no peer may
// negotiate below frame-min-size.
func effectiveFrameMax(frameMax uint32) uint32 {
	switch {
	case frameMax == 0:
		return math.MaxUint32
	case frameMax < FrameMinSize:
		return FrameMinSize
	}
	return frameMax
}

// beginFrame appends a frame header with a size to be patched by endFrame
// and returns where the payload starts.
func (w *buffer) beginFrame(typ uint8, channel uint16) int {
	w.b = append(w.b, typ, byte(channel>>8), byte(channel), 0, 0, 0, 0)
	return len(w.b)
}

func (w *buffer) endFrame(start int) {
	n := len(w.b) - start
	if uint64(n) > math.MaxUint32 {
		w.fail("frame payload of %d octets exceeds 2^32-1", n)
		return
	}
	binary.BigEndian.PutUint32(w.b[start-4:], uint32(n))
	w.b = append(w.b, FrameEnd)
}
