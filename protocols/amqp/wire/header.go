package wire

import (
	"encoding/binary"
	"fmt"
)

// ContentHeader is the payload of a content header frame (AMQP 0-9-1
// §4.2.6.1): it follows a content-carrying method (HasContent) and announces
// the body frames.
//
//	0          2        4           12               14
//	+----------+--------+-----------+----------------+------------- - -
//	| class-id | weight | body size | property flags | property list...
//	+----------+--------+-----------+----------------+------------- - -
//	   short     short    long long       short          remainder
type ContentHeader struct {
	ClassID    uint16 // must be the class of the method it follows
	Weight     uint16 // unused; the spec says it must be zero
	BodySize   uint64 // octets in the body frames that follow, in total
	Properties Properties
}

// contentHeaderFixed is the size of class-id, weight and body size.
const contentHeaderFixed = 12

// Decode decodes a content header frame payload into h. It copies what it
// keeps. Errors are *Error: 501 when the payload cannot hold the fixed fields,
// 505 when the class has no content (only ContentClass has), 502 when the
// properties are malformed or do not fill the payload. The caller checks that
// ClassID matches the method and Weight is zero (505 otherwise, as RabbitMQ).
func (h *ContentHeader) Decode(payload []byte) error {
	if len(payload) < contentHeaderFixed+2 {
		return frameError("content header payload of %d octets is shorter than its %d fixed octets", len(payload), contentHeaderFixed+2)
	}
	h.ClassID = binary.BigEndian.Uint16(payload)
	h.Weight = binary.BigEndian.Uint16(payload[2:])
	h.BodySize = binary.BigEndian.Uint64(payload[4:])
	if h.ClassID != ContentClass {
		return &Error{Code: ReplyUnexpectedFrame, Reason: fmt.Sprintf("content header for class %d, which has no content", h.ClassID)}
	}
	r := reader{b: payload[contentHeaderFixed:]}
	if err := h.Properties.decode(&r); err != nil {
		return err
	}
	return r.finish()
}
