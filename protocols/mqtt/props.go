package mqtt

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// MQTT application messages ⇄ core messages (README "Properties"). The
// mapping follows RabbitMQ's where RabbitMQ has one, and encodes what has no
// native field in headers, so that nothing is dropped in either direction.

// Headers the front-end reads and writes. Those starting with x-mqtt- are
// the front-end's own and never become MQTT user properties.
const (
	hdrPrefix        = "x-mqtt-"
	hdrQoS           = "x-mqtt-publish-qos" // uint8: the QoS published with (RabbitMQ's header)
	hdrRetain        = "x-mqtt-retain"      // bool: published with RETAIN (for Retain As Published)
	hdrClientID      = "x-mqtt-client-id"   // string: the publishing client (No Local)
	hdrPayloadFormat = "x-mqtt-payload-format-indicator"
	hdrContentType   = "x-mqtt-content-type"    // a content type too long for content_type
	hdrUserProps     = "x-mqtt-user-properties" // the user properties in order, with duplicates: [[k, v], …]
	hdrCorrelationID = "x-correlation-id"       // binary correlation data (RabbitMQ's header)
	hdrReplyToTopic  = "x-reply-to-topic"       // the response topic, as a routing key (RabbitMQ's header)
)

// AMQP basic properties that MQTT 5 has no field for travel as user
// properties with these names, and come back from them.
const (
	upMessageID       = "x-amqp-message-id"
	upTimestamp       = "x-amqp-timestamp" // seconds since the epoch, as AMQP 0-9-1 counts
	upType            = "x-amqp-type"
	upAppID           = "x-amqp-app-id"
	upUserID          = "x-amqp-user-id"
	upReplyTo         = "x-amqp-reply-to"
	upPriority        = "x-amqp-priority"
	upContentEncoding = "x-amqp-content-encoding"
)

// shortstrMax is the longest AMQP short string (content_type, correlation_id).
const shortstrMax = 255

// appMsg is an application message published by an MQTT client (a PUBLISH
// or a will).
type appMsg struct {
	topic   string
	qos     byte
	retain  bool
	payload []byte
	props   packets.Properties // MQTT 5 only; zero for 3.x
}

// toMessage builds the core message for a, published by client origin to
// exchange.
func toMessage(a *appMsg, exchange, origin string) *core.Message {
	m := &core.Message{Exchange: exchange, RoutingKey: topicToKey(a.topic), Body: a.payload}
	p := &m.Properties
	p.DeliveryMode = core.Transient
	if a.qos > 0 {
		p.DeliveryMode = core.Persistent // RabbitMQ: QoS ≥ 1 is persistent
	}
	h := core.Table{hdrQoS: a.qos, hdrClientID: origin}
	if a.retain {
		h[hdrRetain] = true
	}
	pr := &a.props
	if pr.PayloadFormatFlag {
		h[hdrPayloadFormat] = pr.PayloadFormat
	}
	if pr.ContentType != "" {
		if len(pr.ContentType) <= shortstrMax {
			p.ContentType = pr.ContentType
		} else {
			h[hdrContentType] = pr.ContentType
		}
	}
	if len(pr.CorrelationData) > 0 {
		if len(pr.CorrelationData) <= shortstrMax && utf8.Valid(pr.CorrelationData) {
			p.CorrelationID = string(pr.CorrelationData)
		} else {
			h[hdrCorrelationID] = append([]byte(nil), pr.CorrelationData...)
		}
	}
	if pr.ResponseTopic != "" {
		h[hdrReplyToTopic] = topicToKey(pr.ResponseTopic)
	}
	if pr.MessageExpiryInterval > 0 {
		p.Expiration = strconv.FormatInt(int64(pr.MessageExpiryInterval)*1000, 10)
	}
	userToHeaders(pr.User, p, h)
	p.Headers = h
	return m
}

// userToHeaders puts user properties into headers: each as a string header
// of its name, the x-amqp-* ones into their AMQP properties, and, when the
// map alone would lose something (order, a repeated name, a name the
// front-end reserves), the whole ordered list under hdrUserProps too.
func userToHeaders(ups []packets.UserProperty, p *core.Properties, h core.Table) {
	if len(ups) == 0 {
		return
	}
	needList := len(ups) > 1
	for _, u := range ups {
		if amqpFromUser(u, p) {
			continue
		}
		if _, dup := h[u.Key]; dup || reservedHeader(u.Key) {
			needList = true
			continue
		}
		h[u.Key] = u.Val
	}
	if needList {
		list := make([]any, len(ups))
		for i, u := range ups {
			list[i] = []any{u.Key, u.Val}
		}
		h[hdrUserProps] = list
	}
}

// amqpFromUser sets the AMQP property an x-amqp-* user property stands for,
// reporting whether it did. A value that does not parse stays a header.
func amqpFromUser(u packets.UserProperty, p *core.Properties) bool {
	switch u.Key {
	case upMessageID:
		if p.MessageID == "" && len(u.Val) <= shortstrMax {
			p.MessageID = u.Val
			return true
		}
	case upType:
		if p.Type == "" && len(u.Val) <= shortstrMax {
			p.Type = u.Val
			return true
		}
	case upAppID:
		if p.AppID == "" && len(u.Val) <= shortstrMax {
			p.AppID = u.Val
			return true
		}
	case upReplyTo:
		if p.ReplyTo == "" && len(u.Val) <= shortstrMax {
			p.ReplyTo = u.Val
			return true
		}
	case upContentEncoding:
		if p.ContentEncoding == "" && len(u.Val) <= shortstrMax {
			p.ContentEncoding = u.Val
			return true
		}
	case upPriority:
		if n, err := strconv.ParseUint(u.Val, 10, 8); err == nil && p.Priority == 0 {
			p.Priority = uint8(n)
			return true
		}
	case upTimestamp:
		if n, err := strconv.ParseInt(u.Val, 10, 64); err == nil && p.Timestamp.IsZero() {
			p.Timestamp = time.Unix(n, 0).UTC()
			return true
		}
	}
	return false
}

func reservedHeader(k string) bool {
	return strings.HasPrefix(k, hdrPrefix) || k == hdrCorrelationID || k == hdrReplyToTopic
}

// delivered is a core message as an MQTT subscriber gets it.
type delivered struct {
	qos     byte   // the QoS it was published with (before the subscription caps it)
	retain  bool   // published with RETAIN
	origin  string // the publishing MQTT client, "" for other protocols
	expired bool   // its message expiry interval has passed
	props   packets.Properties
}

// fromMessage reads m for delivery at now. Properties are filled only for
// MQTT 5 (v5).
func fromMessage(m *core.Message, now time.Time, v5 bool) delivered {
	var d delivered
	p := &m.Properties
	h := p.Headers
	if q, ok := intOf(h[hdrQoS]); ok && q >= 0 && q <= 2 {
		d.qos = byte(q)
	} else if p.DeliveryMode == core.Persistent {
		d.qos = 1 // RabbitMQ: delivery mode 2 is QoS 1, then capped by the subscription
	}
	d.retain, _ = h[hdrRetain].(bool)
	d.origin, _ = h[hdrClientID].(string)
	var expiry uint32
	if p.Expiration != "" {
		ms, err := strconv.ParseInt(p.Expiration, 10, 64)
		if err == nil {
			left := time.Duration(ms)*time.Millisecond - now.Sub(m.Published)
			if left <= 0 {
				d.expired = true
			}
			// [MQTT-3.3.2-6]: the interval received minus the time waited,
			// rounded up so that an unexpired message never says 0.
			secs := (left + time.Second - 1) / time.Second
			expiry = uint32(min(max(int64(secs), 1), math.MaxUint32))
		}
	}
	if !v5 {
		return d
	}
	pr := &d.props
	pr.MessageExpiryInterval = expiry
	if f, ok := intOf(h[hdrPayloadFormat]); ok {
		pr.PayloadFormat, pr.PayloadFormatFlag = byte(f), true
	}
	pr.ContentType = p.ContentType
	if s, ok := h[hdrContentType].(string); ok && pr.ContentType == "" {
		pr.ContentType = s
	}
	switch v := h[hdrCorrelationID].(type) {
	case []byte:
		pr.CorrelationData = v
	case string:
		pr.CorrelationData = []byte(v)
	default:
		if p.CorrelationID != "" {
			pr.CorrelationData = []byte(p.CorrelationID)
		}
	}
	if s, ok := h[hdrReplyToTopic].(string); ok {
		pr.ResponseTopic = keyToTopic(s)
	}
	pr.User = userProperties(p)
	return d
}

// userProperties lists the user properties of a delivery: the ordered list
// an MQTT publisher sent, then every other header as a string, then the AMQP
// properties MQTT has no field for.
func userProperties(p *core.Properties) []packets.UserProperty {
	var ups []packets.UserProperty
	listed := map[string]bool{}
	if list, ok := p.Headers[hdrUserProps].([]any); ok {
		for _, e := range list {
			kv, ok := e.([]any)
			if !ok || len(kv) != 2 {
				continue
			}
			k, _ := kv[0].(string)
			v, _ := kv[1].(string)
			ups = append(ups, packets.UserProperty{Key: k, Val: v})
			listed[k] = true
		}
	}
	keys := make([]string, 0, len(p.Headers))
	for k := range p.Headers {
		if !reservedHeader(k) && !listed[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ups = append(ups, packets.UserProperty{Key: k, Val: valueString(p.Headers[k])})
	}
	add := func(k, v string) {
		if v != "" && !listed[k] {
			ups = append(ups, packets.UserProperty{Key: k, Val: v})
		}
	}
	add(upMessageID, p.MessageID)
	if !p.Timestamp.IsZero() {
		add(upTimestamp, strconv.FormatInt(p.Timestamp.Unix(), 10))
	}
	add(upType, p.Type)
	add(upAppID, p.AppID)
	add(upUserID, p.UserID)
	add(upReplyTo, p.ReplyTo)
	if p.Priority != 0 {
		add(upPriority, strconv.Itoa(int(p.Priority)))
	}
	add(upContentEncoding, p.ContentEncoding)
	return ups
}

// valueString renders a header value as a user property string: scalars as
// their text, binary as itself when it is UTF-8 and else in base64, times
// in RFC 3339, tables and arrays as JSON.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case bool:
		return strconv.FormatBool(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case core.Decimal:
		r := new(big.Rat).SetFrac(big.NewInt(int64(x.Value)), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Scale)), nil))
		return r.FloatString(int(x.Scale))
	case core.Table, map[string]any, []any:
		b, err := json.Marshal(jsonValue(x))
		if err != nil {
			return ""
		}
		return string(b)
	}
	if n, ok := intOf(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return ""
}

// jsonValue converts a header value for encoding/json: binary that is not
// UTF-8 as base64 (encoding/json's own choice), decimals as their text.
func jsonValue(v any) any {
	switch x := v.(type) {
	case core.Table:
		return jsonValue(map[string]any(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return x
	case core.Decimal:
		return json.Number(valueString(x))
	}
	return v
}

// intOf reads any integer type.
func intOf(v any) (int64, bool) { return core.IntValue(v) }
