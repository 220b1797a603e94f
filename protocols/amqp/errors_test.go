package amqp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPErrorMapping is the table of core codes and codec errors to AMQP
// exceptions: reply code, channel or connection, and reply text.
func TestAMQPErrorMapping(t *testing.T) {
	declare := &wire.QueueDeclare{Queue: "q"}
	tests := []struct {
		name string
		err  error
		code uint16
		hard bool
		text string
	}{
		{"not found", &core.Error{Code: core.NotFound, Msg: "no queue 'q' in vhost '/'"},
			404, false, "NOT_FOUND - no queue 'q' in vhost '/'"},
		{"precondition", &core.Error{Code: core.PreconditionFailed, Msg: "unknown delivery tag 5"},
			406, false, "PRECONDITION_FAILED - unknown delivery tag 5"},
		{"access", &core.Error{Code: core.AccessRefused, Msg: "access to queue 'q' in vhost '/' refused for user 'u'"},
			403, false, "ACCESS_REFUSED - access to queue 'q' in vhost '/' refused for user 'u'"},
		{"locked", &core.Error{Code: core.ResourceLocked, Msg: "cannot obtain exclusive access"},
			405, false, "RESOURCE_LOCKED - cannot obtain exclusive access"},
		{"invalid", &core.Error{Code: core.InvalidArgument, Msg: "invalid exchange type 'x'"},
			503, true, "COMMAND_INVALID - invalid exchange type 'x'"},
		{"limit", &core.Error{Code: core.ResourceLimit, Msg: "broker is shutting down"},
			506, true, "RESOURCE_ERROR - broker is shutting down"},
		{"not implemented", &core.Error{Code: core.NotImplemented, Msg: "queue type 'stream' is not supported"},
			540, true, "NOT_IMPLEMENTED - queue type 'stream' is not supported"},
		{"internal", &core.Error{Code: core.Internal, Msg: "store: disk full"},
			541, true, "INTERNAL_ERROR - store: disk full"},
		{"wrapped", fmt.Errorf("declare: %w", &core.Error{Code: core.NotFound, Msg: "x"}),
			404, false, "NOT_FOUND - x"},
		{"plain error", errors.New("boom"), 541, true, "INTERNAL_ERROR - boom"},
		{"codec syntax", &wire.Error{Code: wire.ReplySyntaxError, Reason: "truncated"},
			502, true, "SYNTAX_ERROR - truncated"},
		{"codec frame", &wire.Error{Code: wire.ReplyFrameError, Reason: "bad frame-end"},
			501, true, "FRAME_ERROR - bad frame-end"},
		{"codec unknown method", &wire.Error{Code: wire.ReplyNotImplemented, Reason: "unknown method"},
			540, true, "NOT_IMPLEMENTED - unknown method"},
		{"own", errorf(wire.ReplyChannelError, "expected 'channel.open'"),
			504, true, "CHANNEL_ERROR - expected 'channel.open'"},
		{"own unexpected frame", errorf(wire.ReplyUnexpectedFrame, "x"), 505, true, "UNEXPECTED_FRAME - x"},
		{"own not allowed", errorf(wire.ReplyNotAllowed, "vhost 'v' not found"), 530, true, "NOT_ALLOWED - vhost 'v' not found"},
		{"own invalid path", errorf(wire.ReplyInvalidPath, "x"), 402, true, "INVALID_PATH - x"},
		{"own forced", errorf(wire.ReplyConnectionForced, "shutdown"), 320, true, "CONNECTION_FORCED - shutdown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := fromCore(tc.err, declare)
			if e.code != tc.code || e.hard() != tc.hard || replyText(e.code, e.text) != tc.text {
				t.Fatalf("got %d hard=%v %q, want %d hard=%v %q", e.code, e.hard(), replyText(e.code, e.text),
					tc.code, tc.hard, tc.text)
			}
			if e.classID != wire.ClassQueue || e.methodID != wire.MethodQueueDeclare {
				t.Fatalf("failing method %d.%d, want queue.declare", e.classID, e.methodID)
			}
		})
	}
	// Every core code has a mapping.
	for c := core.Internal; c <= core.NotImplemented; c++ {
		if _, ok := codeMapping[c]; !ok {
			t.Errorf("core code %v has no AMQP reply code", c)
		}
	}
}

// TestAMQPReplyTextFitsShortstr: a reply text longer than a shortstr is cut,
// never an encoding failure.
func TestAMQPReplyTextFitsShortstr(t *testing.T) {
	s := replyText(wire.ReplyNotFound, strings.Repeat("x", 400))
	if len(s) != 255 || !strings.HasPrefix(s, "NOT_FOUND - ") {
		t.Fatalf("len %d: %q", len(s), s[:20])
	}
	if _, err := wire.AppendMethodFrame(nil, 1, &wire.ChannelClose{ReplyCode: 404, ReplyText: s}); err != nil {
		t.Fatal(err)
	}
}

// TestAMQPServerMustHandle: every method the spec says a server MUST handle
// has a handler (the handshake's are also in connectionMethods, for the
// error RabbitMQ gives when they come later).
func TestAMQPServerMustHandle(t *testing.T) {
	for _, k := range wire.ServerMustHandle {
		_, conn := connectionMethods[k]
		_, ch := channelMethods[k]
		if !conn && !ch {
			t.Errorf("no handler for %v", k)
		}
		if conn && ch {
			t.Errorf("%v has both a connection and a channel handler", k)
		}
		if (k.Class == wire.ClassConnection) != conn {
			t.Errorf("%v is handled at the wrong level", k)
		}
	}
}

// TestAMQPClientLogLimit: lines clients cause are limited per second, and
// the next line allowed reports how many were dropped.
func TestAMQPClientLogLimit(t *testing.T) {
	var l logLimiter
	now := time.Unix(1000, 0)
	for i := range clientLogBurst {
		if ok, _ := l.allow(now); !ok {
			t.Fatalf("line %d refused", i)
		}
	}
	for range 5 {
		if ok, _ := l.allow(now.Add(500 * time.Millisecond)); ok {
			t.Fatal("line past the burst allowed")
		}
	}
	if ok, dropped := l.allow(now.Add(time.Second)); !ok || dropped != 5 {
		t.Fatalf("next second: %v, %d dropped", ok, dropped)
	}
}
