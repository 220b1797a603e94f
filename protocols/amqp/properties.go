package amqp

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// Basic properties ⇄ core.Properties. Core's properties are AMQP's, so the
// mapping is one to one; two things need care:
//
//   - the deprecated cluster-id property (wire.Properties.Reserved) has no
//     field in core and travels in the header headerClusterID, so nothing is
//     dropped;
//   - header values of types RabbitMQ's clients cannot read (uint16 'u' and
//     uint32 'i', which amqp091-go and others predate) or that have no AMQP
//     field type (values from other front-ends) are widened on the way out:
//     uint16 → int32, uint32 and uint → int64, an out-of-range uint64 or an
//     unknown type → its decimal or printed string.

// headerClusterID carries basic.properties cluster-id through core.
const headerClusterID = "x-mqgate-amqp-cluster-id"

// fromWire converts a publish's properties for core. The decoded header
// table is owned by the message from here on.
func fromWire(p *wire.Properties) core.Properties {
	h := p.Headers
	if p.Reserved != "" {
		if h == nil {
			h = core.Table{}
		}
		h[headerClusterID] = p.Reserved
	}
	return core.Properties{ContentType: p.ContentType, ContentEncoding: p.ContentEncoding, Headers: h,
		DeliveryMode: p.DeliveryMode, Priority: p.Priority, CorrelationID: p.CorrelationID, ReplyTo: p.ReplyTo,
		Expiration: p.Expiration, MessageID: p.MessageID, Timestamp: p.Timestamp, Type: p.Type, UserID: p.UserID,
		AppID: p.AppID}
}

// toWire converts a message's properties for delivery. It never modifies
// p, which is shared by every delivery of the message.
func toWire(p *core.Properties) wire.Properties {
	w := wire.Properties{ContentType: p.ContentType, ContentEncoding: p.ContentEncoding, Headers: p.Headers,
		DeliveryMode: p.DeliveryMode, Priority: p.Priority, CorrelationID: p.CorrelationID, ReplyTo: p.ReplyTo,
		Expiration: p.Expiration, MessageID: p.MessageID, Timestamp: p.Timestamp, Type: p.Type, UserID: p.UserID,
		AppID: p.AppID}
	if w.Headers == nil {
		return w
	}
	if id, ok := w.Headers[headerClusterID].(string); ok {
		w.Reserved = id
		w.Headers = w.Headers.Clone()
		delete(w.Headers, headerClusterID)
	}
	if tableNeedsWidening(w.Headers) {
		w.Headers = widenTable(w.Headers)
	}
	return w
}

func tableNeedsWidening(t core.Table) bool {
	for _, v := range t {
		if needsWidening(v) {
			return true
		}
	}
	return false
}

func needsWidening(v any) bool {
	switch x := v.(type) {
	case nil, bool, int8, uint8, int16, int32, int64, int, float32, float64, core.Decimal, string, []byte, time.Time:
		return false
	case uint64:
		return x > math.MaxInt64
	case core.Table:
		return tableNeedsWidening(x)
	case map[string]any:
		return tableNeedsWidening(x)
	case []any:
		for _, e := range x {
			if needsWidening(e) {
				return true
			}
		}
		return false
	}
	return true // uint16, uint32, uint and types with no AMQP field type
}

func widenTable(t core.Table) core.Table {
	out := make(core.Table, len(t))
	for k, v := range t {
		out[k] = widen(v)
	}
	return out
}

func widen(v any) any {
	switch x := v.(type) {
	case uint16:
		return int32(x)
	case uint32:
		return int64(x)
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x)
		}
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		if x <= math.MaxInt64 {
			return x
		}
		return strconv.FormatUint(x, 10)
	case core.Table:
		return widenTable(x)
	case map[string]any:
		return widenTable(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = widen(e)
		}
		return out
	}
	if needsWidening(v) {
		return fmt.Sprint(v)
	}
	return v
}
