package amqp

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// TestAMQPPropertiesRoundTrip: basic properties → core → basic properties
// is the identity, cluster-id included.
func TestAMQPPropertiesRoundTrip(t *testing.T) {
	in := wire.Properties{ContentType: "text/plain", ContentEncoding: "gzip",
		Headers: core.Table{"a": "b", "n": int32(1)}, DeliveryMode: 2, Priority: 9, CorrelationID: "c",
		ReplyTo: "r", Expiration: "100", MessageID: "m", Timestamp: time.Unix(1700000000, 0).UTC(), Type: "t",
		UserID: "u", AppID: "app", Reserved: "cluster"}
	orig := in
	orig.Headers = in.Headers.Clone()
	cp := fromWire(&in)
	if cp.Headers[headerClusterID] != "cluster" {
		t.Fatalf("cluster-id not carried: %v", cp.Headers)
	}
	out := toWire(&cp)
	if !reflect.DeepEqual(out, orig) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", out, orig)
	}
	if cp.Headers[headerClusterID] != "cluster" {
		t.Fatal("toWire modified the message's headers")
	}
	var empty wire.Properties
	if got := toWire(new(core.Properties)); !reflect.DeepEqual(got, empty) {
		t.Fatalf("empty properties became %#v", got)
	}
}

// TestAMQPHeaderWidening is the table of header values RabbitMQ's clients
// cannot read, and what they are sent as.
func TestAMQPHeaderWidening(t *testing.T) {
	type custom struct{ A int }
	tests := []struct {
		in, want any
	}{
		{uint16(7), int32(7)},
		{uint32(math.MaxUint32), int64(math.MaxUint32)},
		{uint(5), int64(5)},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{uint64(3), uint64(3)},
		{custom{1}, "{1}"},
		{[]any{uint16(1), "x"}, []any{int32(1), "x"}},
		{core.Table{"deep": core.Table{"u": uint32(2)}}, core.Table{"deep": core.Table{"u": int64(2)}}},
		{map[string]any{"u": uint16(2)}, core.Table{"u": int32(2)}},
		{int8(-1), int8(-1)},
		{"s", "s"},
	}
	for _, tc := range tests {
		h := core.Table{"v": tc.in}
		got := toWire(&core.Properties{Headers: h}).Headers["v"]
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%#v → %#v, want %#v", tc.in, got, tc.want)
		}
		if _, err := wire.AppendHeaderFrame(nil, 1, wire.ContentClass, 0,
			&wire.Properties{Headers: core.Table{"v": got}}); err != nil {
			t.Errorf("%#v widened to %#v still does not encode: %v", tc.in, got, err)
		}
	}
	// Nothing to widen: the message's own table is used, not a copy.
	h := core.Table{"a": int32(1)}
	if got := toWire(&core.Properties{Headers: h}).Headers; reflect.ValueOf(got).Pointer() != reflect.ValueOf(h).Pointer() {
		t.Error("headers copied though nothing needed widening")
	}
}
