package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"sync"
)

// ProtocolHeader opens every AMQP 0-9-1 connection (AMQP 0-9-1 §4.2.2): the
// client sends it, and a server that does not accept what it got answers
// with this and closes.
const ProtocolHeader = "AMQP\x00\x00\x09\x01"

// ReadProtocolHeader reads the 8 octets a client opens with and returns them.
// If they are not ProtocolHeader the error is ErrProtocolHeader; the server
// then writes ProtocolHeader and closes (AMQP 0-9-1 §4.2.2). A peer that
// closes first gives io.EOF or io.ErrUnexpectedEOF.
func ReadProtocolHeader(r io.Reader) ([8]byte, error) {
	var got [8]byte
	if _, err := io.ReadFull(r, got[:]); err != nil {
		return got, err
	}
	if string(got[:]) != ProtocolHeader {
		return got, ErrProtocolHeader
	}
	return got, nil
}

// Frame is one frame (AMQP 0-9-1 §4.2.3):
//
//	0      1         3             7                  size+7 size+8
//	+------+---------+-------------+  +------------+  +-----------+
//	| type | channel |     size    |  |  payload   |  | frame-end |
//	+------+---------+-------------+  +------------+  +-----------+
//	 octet   short         long         size octets       octet
type Frame struct {
	Type    uint8 // FrameMethod, FrameHeader, FrameBody or FrameHeartbeat
	Channel uint16
	Payload []byte
}

// FrameReader reads frames, enforcing the negotiated frame-max before it
// allocates. A frame's Payload is valid until the next ReadFrame: the reader
// reuses its buffers, so keep a copy of what must outlive that (the decoders
// of this package copy what they keep).
type FrameReader struct {
	r        *bufio.Reader
	frameMax uint32  // largest frame accepted, header and frame-end included
	small    []byte  // owned buffer for frames up to FrameMinSize octets
	large    *[]byte // pooled buffer holding the last large payload, if any
	maxAlloc int     // largest buffer this reader allocated, for tests
}

// largeBuffers holds payload buffers above FrameMinSize. Keeping them in a
// pool rather than in each reader means an idle connection pins no more than
// FrameMinSize octets, however large its frame-max.
var largeBuffers sync.Pool // of *[]byte

// NewFrameReader returns a reader of frames from r accepting frames of up to
// frameMax octets (see SetMaxFrameSize). Until connection.tune-ok a server
// passes FrameMinSize: AMQP 0-9-1 connection.tune, frame-max: until it is
// negotiated, both peers must accept frames of up to frame-min-size octets.
func NewFrameReader(r *bufio.Reader, frameMax uint32) *FrameReader {
	fr := &FrameReader{r: r}
	fr.SetMaxFrameSize(frameMax)
	return fr
}

// SetMaxFrameSize sets the largest frame accepted, header and frame-end
// included, as negotiated by connection.tune/tune-ok. Values below
// FrameMinSize, and 0, count as FrameMinSize: unlike the spec's 0 ("no
// limit"), a reader always has a bound, which the server chooses.
func (fr *FrameReader) SetMaxFrameSize(frameMax uint32) {
	fr.frameMax = max(frameMax, FrameMinSize)
}

// MaxFrameSize returns the largest frame accepted.
func (fr *FrameReader) MaxFrameSize() uint32 { return fr.frameMax }

// ReadFrame reads one frame. It returns io.EOF if the stream ends between
// frames and io.ErrUnexpectedEOF if it ends inside one. A malformed frame is
// an *Error with code 501 (FRAME_ERROR): an unknown type, a size above
// frame-max, a heartbeat off channel 0 or with a payload, a bad frame-end.
// After an error the stream is out of step: the connection must close.
func (fr *FrameReader) ReadFrame() (Frame, error) {
	fr.releaseLarge()
	hdr, err := fr.r.Peek(7)
	if err != nil {
		if len(hdr) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	typ := hdr[0]
	channel := binary.BigEndian.Uint16(hdr[1:])
	size := binary.BigEndian.Uint32(hdr[3:])
	_, _ = fr.r.Discard(7) // cannot fail: Peek returned 7 octets

	switch typ {
	case FrameMethod, FrameHeader, FrameBody, FrameHeartbeat:
	default:
		return Frame{}, frameError("unknown frame type %d", typ)
	}
	// AMQP 0-9-1 §4.2.3: frame-max bounds the whole frame; checked before
	// anything is allocated for the payload.
	if uint64(size)+frameOverhead > uint64(fr.frameMax) {
		return Frame{}, frameError("frame of %d octets exceeds frame-max %d", uint64(size)+frameOverhead, fr.frameMax)
	}
	// AMQP 0-9-1 §4.2.7: heartbeat frames are on channel 0 and carry nothing.
	if typ == FrameHeartbeat && (channel != 0 || size != 0) {
		return Frame{}, frameError("heartbeat frame on channel %d with %d octets of payload", channel, size)
	}

	buf := fr.buffer(int(size) + 1)
	if _, err := io.ReadFull(fr.r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	// AMQP 0-9-1 §2.3.5: the frame-end octet must be 0xCE, else the frame is
	// malformed and the connection closes with 501.
	if end := buf[size]; end != FrameEnd {
		return Frame{}, frameError("frame-end octet %#02x, want %#02x", end, FrameEnd)
	}
	return Frame{Type: typ, Channel: channel, Payload: buf[:size:size]}, nil
}

// buffer returns n octets to read a payload and its frame-end into. n never
// exceeds frame-max, and neither does what is allocated.
func (fr *FrameReader) buffer(n int) []byte {
	if n <= FrameMinSize {
		if fr.small == nil {
			fr.small = make([]byte, FrameMinSize)
			fr.maxAlloc = max(fr.maxAlloc, FrameMinSize)
		}
		return fr.small[:n]
	}
	p, _ := largeBuffers.Get().(*[]byte)
	if p == nil || cap(*p) < n {
		// Round up so that similar sizes share pooled buffers, but never
		// past frame-max.
		size := min(1<<bits.Len(uint(n-1)), int(fr.frameMax))
		b := make([]byte, size)
		fr.maxAlloc = max(fr.maxAlloc, size)
		p = &b
	}
	fr.large = p
	return (*p)[:n]
}

// releaseLarge returns the last large payload's buffer to the pool: the
// caller has finished with that frame.
func (fr *FrameReader) releaseLarge() {
	if fr.large != nil {
		largeBuffers.Put(fr.large)
		fr.large = nil
	}
}
