package amqp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// amqpError is an exception to raise on the wire (AMQP 0-9-1 §1.2, reply
// codes): a soft error closes its channel, a hard error the connection.
type amqpError struct {
	code     uint16 // reply code
	text     string // reply text without the code's name, as RabbitMQ words it
	classID  uint16 // the method that caused it, 0 if none
	methodID uint16
}

func (e *amqpError) Error() string { return replyText(e.code, e.text) }

// hard reports whether the error closes the connection.
func (e *amqpError) hard() bool { return !wire.IsSoftError(e.code) }

// errorf builds an amqpError.
func errorf(code uint16, format string, args ...any) *amqpError {
	return &amqpError{code: code, text: fmt.Sprintf(format, args...)}
}

// replyText is the reply-text RabbitMQ sends: the code's name in capitals,
// " - ", then the explanation ("NOT_FOUND - no queue 'q' in vhost '/'").
// It is cut to fit the shortstr it travels in.
func replyText(code uint16, text string) string {
	s := codeName(code) + " - " + text
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

// codeName is a reply code's name as RabbitMQ prints it: NOT_FOUND, not
// not-found.
func codeName(code uint16) string {
	n := wire.ReplyCodeName(code)
	if n == "" {
		return fmt.Sprintf("REPLY_CODE_%d", code)
	}
	return strings.ToUpper(strings.ReplaceAll(n, "-", "_"))
}

// codeMapping is how each core.Code surfaces in AMQP. The channel-level
// codes are the spec's soft errors (AMQP 0-9-1 §1.2); everything core cannot
// do for reasons other than the request itself closes the connection, as
// RabbitMQ does (command_invalid for an unknown exchange type, resource_error,
// not_implemented, internal_error).
var codeMapping = map[core.Code]uint16{
	core.NotFound:           wire.ReplyNotFound,           // 404, channel
	core.PreconditionFailed: wire.ReplyPreconditionFailed, // 406, channel
	core.AccessRefused:      wire.ReplyAccessRefused,      // 403, channel
	core.ResourceLocked:     wire.ReplyResourceLocked,     // 405, channel
	core.InvalidArgument:    wire.ReplyCommandInvalid,     // 503, connection
	core.ResourceLimit:      wire.ReplyResourceError,      // 506, connection
	core.NotImplemented:     wire.ReplyNotImplemented,     // 540, connection
	core.Internal:           wire.ReplyInternalError,      // 541, connection
}

// fromCore maps an error returned by core (or by this package) to the AMQP
// exception to raise for method m. Core's message is RabbitMQ's wording
// without the code prefix, so it is kept as the explanation.
func fromCore(err error, m wire.Method) *amqpError {
	var ae *amqpError
	if errors.As(err, &ae) {
		return withMethod(ae, m)
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return withMethod(&amqpError{code: we.Code, text: we.Reason, classID: we.ClassID, methodID: we.MethodID}, m)
	}
	var code uint16 = wire.ReplyInternalError
	text := err.Error()
	var ce *core.Error
	if errors.As(err, &ce) {
		if c, ok := codeMapping[ce.Code]; ok {
			code = c
		}
		text = ce.Msg
	}
	return withMethod(&amqpError{code: code, text: text}, m)
}

func withMethod(e *amqpError, m wire.Method) *amqpError {
	if m != nil && e.classID == 0 && e.methodID == 0 {
		c := *e
		c.classID, c.methodID = m.ClassID(), m.MethodID()
		return &c
	}
	return e
}
