package mqtt

import (
	"errors"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// README "Errors": core's codes as MQTT 5 reason codes.
func TestReasonFor(t *testing.T) {
	for _, tc := range []struct {
		code core.Code
		want byte
	}{
		{core.AccessRefused, 0x87},
		{core.ResourceLimit, 0x97},
		{core.InvalidArgument, 0x90},
		{core.NotImplemented, 0x83},
		{core.NotFound, 0x83},
		{core.PreconditionFailed, 0x83},
		{core.ResourceLocked, 0x83},
		{core.Internal, 0x80},
	} {
		if got := reasonFor(&core.Error{Code: tc.code, Msg: "m"}); got.Code != tc.want {
			t.Errorf("%v: %#x, want %#x", tc.code, got.Code, tc.want)
		}
	}
	if got := reasonFor(errors.New("not a core error")); got.Code != 0x80 {
		t.Errorf("plain error: %#x", got.Code)
	}
}

// CONNACK refusals for MQTT 3 use its six return codes [MQTT-3.2.2-5].
func TestConnackCode(t *testing.T) {
	for _, tc := range []struct {
		in     packets.Code
		v3, v5 byte
	}{
		{packets.ErrBadUsernameOrPassword, 0x04, 0x86},
		{packets.ErrNotAuthorized, 0x05, 0x87},
		{packets.ErrBadAuthenticationMethod, 0x05, 0x8C},
		{packets.ErrServerUnavailable, 0x03, 0x88},
	} {
		if got := connackCode(tc.in, 4).Code; got != tc.v3 {
			t.Errorf("%v for MQTT 3.1.1: %#x, want %#x", tc.in, got, tc.v3)
		}
		if got := connackCode(tc.in, 5).Code; got != tc.v5 {
			t.Errorf("%v for MQTT 5: %#x, want %#x", tc.in, got, tc.v5)
		}
	}
}

func TestErrorText(t *testing.T) {
	if got := errorText(&core.Error{Code: core.AccessRefused, Msg: "no"}); got != "no" {
		t.Fatal(got)
	}
	long := string(make([]byte, 1000))
	if got := errorText(errors.New(long)); len(got) != 256 {
		t.Fatal(len(got))
	}
}
