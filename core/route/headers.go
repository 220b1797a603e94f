package route

import (
	"fmt"
	"strings"
)

// matchMode is a binding's x-match.
type matchMode uint8

const (
	modeAll matchMode = iota
	modeAny
	modeAllWithX
	modeAnyWithX
)

// xMatch reads a binding's x-match. Like RabbitMQ it takes only a longstr
// (a Go string) with one of the four values and treats anything else, absent
// or not, as "all": bind-time validation keeps bad values out, and "all" is
// the legacy default for bindings made before it existed.
func xMatch(args map[string]any) matchMode {
	s, _ := args["x-match"].(string)
	switch s {
	case "any":
		return modeAny
	case "all-with-x":
		return modeAllWithX
	case "any-with-x":
		return modeAnyWithX
	}
	return modeAll
}

// MatchHeaders reports whether a message with headers matches a
// headers-exchange binding with arguments args, as RabbitMQ 3.13+ decides it
// (rabbit_exchange_type_headers: match_all/match_any over the binding
// arguments).
//
// Which arguments count: x-match itself never; other arguments whose key
// starts with "x-" only when x-match is all-with-x or any-with-x. With "all"
// every counted argument must match, so a binding without one matches every
// message, even one without headers; with "any" one must, so a binding
// without one matches no message.
//
// When an argument matches: a nil (void) value matches when the header is
// present, whatever its value; any other value when the header is present and
// equal. Equality is Erlang's =:= on the values RabbitMQ keeps after
// decoding, which drops the AMQP type of top-level values but not of nested
// ones:
//
//   - integers of every width are equal by value (int32 1 = int64 1 = uint8 1),
//     floats of both widths by value, and an integer never equals a float
//     (1 ≠ 1.0);
//   - string (longstr) and []byte (binary) are equal when their bytes are;
//   - bool only equals bool;
//   - inside arrays and tables the element type is part of the value:
//     []any{int32(1)} ≠ []any{int64(1)}, []any{"a"} ≠ []any{[]byte("a")};
//   - an empty table equals an empty array (both are [] in Erlang);
//   - other values (decimals) are equal when identical.
//
// Where mqgate departs: tables compare as maps, regardless of the order their
// fields had on the wire (RabbitMQ compares the field lists in wire order);
// and a timestamp equals a timestamp of the same second and nothing else,
// where RabbitMQ 4 compares a header timestamp in milliseconds with a binding
// timestamp in seconds, so that timestamps in effect never match.
func MatchHeaders(args, headers map[string]any) bool {
	mode := xMatch(args)
	withX := mode == modeAllWithX || mode == modeAnyWithX
	anyOf := mode == modeAny || mode == modeAnyWithX
	for k, want := range args {
		if k == "x-match" || (!withX && strings.HasPrefix(k, "x-")) {
			continue
		}
		got, present := headers[k]
		ok := present && (want == nil || valueEqual(want, got))
		if ok && anyOf {
			return true
		}
		if !ok && !anyOf {
			return false
		}
	}
	return !anyOf
}

// XMatchError reports a binding's invalid x-match argument. Its message is
// RabbitMQ's, which reports it as PRECONDITION_FAILED; core maps it so.
type XMatchError struct{ msg string }

func (e *XMatchError) Error() string { return e.msg }

// ValidHeadersArgs checks a headers-exchange binding's arguments at bind
// time, as RabbitMQ's validate_binding does: x-match may be absent, or a
// string (longstr) "all", "any", "all-with-x" or "any-with-x". The error is an
// *XMatchError.
func ValidHeadersArgs(args map[string]any) error {
	v, ok := args["x-match"]
	if !ok {
		return nil // "all": the spec is vague on omission, RabbitMQ allows it
	}
	s, ok := v.(string)
	if !ok {
		return &XMatchError{fmt.Sprintf("Invalid x-match field type %s (value %s); expected longstr",
			amqpTypeName(v), erlangTerm(v))}
	}
	switch s {
	case "all", "any", "all-with-x", "any-with-x":
		return nil
	}
	return &XMatchError{fmt.Sprintf("Invalid x-match field value %s; expected all, any, all-with-x, or any-with-x",
		erlangTerm(s))}
}
