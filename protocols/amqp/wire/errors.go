package wire

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is a codec error carrying the reply code the server answers with
// (connection.close or channel.close): ReplyFrameError (501) for a malformed
// frame, ReplySyntaxError (502) for malformed method arguments or content
// header, ReplyUnexpectedFrame (505), ReplyNotImplemented (540) for an unknown
// class or method, and ReplyInternalError (541) when a value cannot be encoded.
type Error struct {
	Code     uint16 // reply code
	ClassID  uint16 // class of the method being decoded or encoded, 0 if none
	MethodID uint16 // its method id, 0 if none
	Reason   string // what was wrong, for the reply text
}

func (e *Error) Error() string {
	name := ReplyCodeName(e.Code)
	if name == "" {
		name = "reply code " + strconv.Itoa(int(e.Code))
	}
	s := "amqp " + name + " - " + e.Reason
	if e.ClassID != 0 || e.MethodID != 0 {
		s += " (" + MethodName(e.ClassID, e.MethodID) + ")"
	}
	return s
}

// ErrProtocolHeader reports that a peer opened with something other than the
// AMQP 0-9-1 protocol header. AMQP 0-9-1 §4.2.2: the server answers with the
// header it supports and closes the socket; no connection.close is sent.
var ErrProtocolHeader = errors.New("amqp: unsupported protocol header")

func frameError(format string, args ...any) *Error {
	return &Error{Code: ReplyFrameError, Reason: fmt.Sprintf(format, args...)}
}

func errUnknownMethod(class, method uint16) *Error {
	return &Error{Code: ReplyNotImplemented, ClassID: class, MethodID: method,
		Reason: fmt.Sprintf("unknown method: class %d, method %d", class, method)}
}
