package core

import (
	"errors"
	"fmt"
)

// Code is a protocol-neutral error class. Each front-end maps it to its wire
// codes in one table-tested function.
type Code uint8

// Error codes.
const (
	Internal           Code = iota // a bug or a store failure
	NotFound                       // no such vhost, exchange, queue, lease
	PreconditionFailed             // redeclare with other properties, in use, not empty, bad state
	AccessRefused                  // authentication or permission failure, or a reserved name
	ResourceLocked                 // exclusive to another owner
	ResourceLimit                  // a limit was reached (queue full and rejecting, too many)
	InvalidArgument                // a malformed name or argument
	NotImplemented                 // a valid request core does not support
)

var codeNames = [...]string{"INTERNAL_ERROR", "NOT_FOUND", "PRECONDITION_FAILED", "ACCESS_REFUSED",
	"RESOURCE_LOCKED", "RESOURCE_ERROR", "INVALID_ARGUMENT", "NOT_IMPLEMENTED"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", c)
}

// Error is core's error type: a Code and a message worded as RabbitMQ words it
// (without the code prefix, which front-ends add as their protocol wants).
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Code.String() + " - " + e.Msg }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Msg == ""
}

// errorf builds an *Error.
func errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of err: its *Error's code, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
