package sqs

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// messageAttribute is one message attribute as SQS sees it.
type messageAttribute struct {
	Name     string
	DataType string // String, Number or Binary, with any custom suffix
	String   string
	Binary   []byte // set for Binary types
}

// Limits of message attributes (reference §3.1).
const (
	maxAttributes   = 10
	maxAttrNameLen  = 256
	maxAttrTypeLen  = 256
	headerPrefix    = "x-sqs-"                // reserved: SQS state carried on a message, never shown as attributes
	typesHeader     = "x-sqs-attribute-types" // DataType of each attribute the value's Go type does not tell
	senderHeader    = "x-sqs-sender-id"
	traceHeader     = "x-sqs-aws-trace-header"
	bodyEncoding    = "mqgate.body-encoding" // attribute added to a body that is not SQS text
	deathHeader     = "x-death"
	lastDeathQueue  = "x-last-death-queue"
	firstDeathQueue = "x-first-death-queue"
)

// baseType returns the base of a DataType ("Number.float" → "Number").
func baseType(dt string) string {
	b, _, _ := strings.Cut(dt, ".")
	return b
}

// validateMessageAttributes checks attributes as SendMessage does and
// returns them sorted by name, with the bytes they count towards the
// message size.
func validateMessageAttributes(in map[string]attributeValue) ([]messageAttribute, int, *awsapi.Error) {
	if len(in) == 0 {
		return nil, 0, nil
	}
	if len(in) > maxAttributes {
		return nil, 0, invalidParam("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(in), maxAttributes)
	}
	out := make([]messageAttribute, 0, len(in))
	size := 0
	for name, v := range in {
		if err := checkAttrName(name); err != nil {
			return nil, 0, err
		}
		a := messageAttribute{Name: name, DataType: v.DataType}
		if v.DataType == "" {
			return nil, 0, invalidParam("The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		if len(v.DataType) > maxAttrTypeLen {
			return nil, 0, invalidParam("The message attribute '%s' has a type longer than %d characters.", name, maxAttrTypeLen)
		}
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return nil, 0, invalidParam("Message attribute list values in SendMessage operation are not supported.")
		}
		switch baseType(v.DataType) {
		case "String", "Number":
			if v.StringValue == nil || *v.StringValue == "" {
				return nil, 0, invalidParam("The message attribute '%s' must contain non-empty message attribute value "+
					"for message attribute type '%s'.", name, v.DataType)
			}
			a.String = *v.StringValue
			if !validText(a.String) {
				return nil, 0, invalidParam("The message attribute '%s' contains characters outside the allowed set.", name)
			}
			if baseType(v.DataType) == "Number" && !validNumber(a.String) {
				return nil, 0, invalidParam("Can't cast the value of message (user) attribute '%s' to a number.", name)
			}
			size += len(a.String)
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return nil, 0, invalidParam("The message attribute '%s' must contain non-empty message attribute value "+
					"for message attribute type '%s'.", name, v.DataType)
			}
			a.Binary = v.BinaryValue
			size += len(a.Binary)
		default:
			return nil, 0, invalidParam("The type of message (user) attribute '%s' is invalid. You must use only the "+
				"following supported type prefixes: Binary, Number, String.", name)
		}
		size += len(name) + len(v.DataType)
		out = append(out, a)
	}
	slices.SortFunc(out, cmpAttr)
	return out, size, nil
}

// checkAttrName applies SQS's attribute name rules.
func checkAttrName(name string) *awsapi.Error {
	bad := name == "" || len(name) > maxAttrNameLen || name[0] == '.' || name[len(name)-1] == '.' ||
		strings.Contains(name, "..")
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		bad = true
	}
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		bad = !(idChar(c) || c == '.')
	}
	if bad {
		return invalidParam("Message (user) attribute name '%s' is invalid. The attribute name can contain A-Z, a-z, "+
			"0-9, underscore (_), hyphen (-), and period (.) characters, must not start or end with a period, must not "+
			"contain consecutive periods, must not start with AWS. or Amazon., and must be at most 256 characters.", name)
	}
	return nil
}

// validNumber accepts SQS's numbers: a decimal with an optional sign,
// fraction and exponent, of at most 38 significant digits, within ±10^126.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, sig := 0, 0
	leading := true
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
		if s[i] != '0' || !leading {
			leading = false
			sig++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
			if s[i] != '0' || !leading {
				leading = false
				sig++
			}
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		}
		if i == start {
			return false
		}
	}
	if i != len(s) || sig > 38 {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && math.Abs(f) <= 1e126
}

// validText reports whether s holds only the characters SQS allows in
// bodies and string attributes: #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD
// #x10000–#x10FFFF, as valid UTF-8.
func validText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// attributesToHeaders adds attrs to AMQP headers h: String as a string,
// Binary as bytes, Number as an int64 when that prints back to the same text
// and as its text otherwise. A DataType the value's type does not tell (a
// custom suffix, a Number kept as text) goes into the x-sqs-attribute-types
// table, so the attribute comes back exactly as sent and its MD5 matches.
func attributesToHeaders(attrs []messageAttribute, h core.Table) {
	var types core.Table
	for _, a := range attrs {
		switch {
		case a.DataType == "String":
			h[a.Name] = a.String
		case a.DataType == "Binary":
			h[a.Name] = a.Binary
		case a.DataType == "Number":
			if n, err := strconv.ParseInt(a.String, 10, 64); err == nil && strconv.FormatInt(n, 10) == a.String {
				h[a.Name] = n
				continue
			}
			h[a.Name] = a.String
			types = addType(types, a)
		case a.Binary != nil:
			h[a.Name] = a.Binary
			types = addType(types, a)
		default:
			h[a.Name] = a.String
			types = addType(types, a)
		}
	}
	if types != nil {
		h[typesHeader] = types
	}
}

func addType(t core.Table, a messageAttribute) core.Table {
	if t == nil {
		t = core.Table{}
	}
	t[a.Name] = a.DataType
	return t
}

// hiddenHeader reports whether a header is broker state rather than an
// application attribute: SQS's own (x-sqs-*) and dead-lettering's history.
func hiddenHeader(k string) bool {
	return strings.HasPrefix(k, headerPrefix) || k == deathHeader ||
		strings.HasPrefix(k, "x-first-death-") || strings.HasPrefix(k, "x-last-death-")
}

// nameFilter is ReceiveMessage's MessageAttributeNames: "All" or ".*", exact
// names, and "prefix.*".
type nameFilter []string

func (f nameFilter) match(name string) bool {
	for _, p := range f {
		if p == "All" || p == ".*" || p == name {
			return true
		}
		if pre, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(name, pre+".") {
			return true
		}
	}
	return false
}

// headersToAttributes renders AMQP headers as SQS message attributes, keeping
// those f selects, sorted by name. Headers from other protocols map by Go
// type: strings to String, bytes to Binary, numbers to Number, booleans to
// String, tables and arrays to String.json.
func headersToAttributes(h core.Table, f nameFilter) []messageAttribute {
	if len(f) == 0 || len(h) == 0 {
		return nil
	}
	types, _ := h[typesHeader].(core.Table)
	var out []messageAttribute
	for k, v := range h {
		if hiddenHeader(k) || !f.match(k) {
			continue
		}
		a := messageAttribute{Name: sanitize(k)}
		switch x := v.(type) {
		case string:
			a.DataType, a.String = "String", sanitize(x)
		case []byte:
			a.DataType, a.Binary = "Binary", x
		case bool:
			a.DataType, a.String = "String", strconv.FormatBool(x)
		case nil:
			a.DataType = "String"
		case time.Time:
			a.DataType, a.String = "Number", strconv.FormatInt(x.Unix(), 10)
		case core.Decimal:
			a.DataType, a.String = "Number", decimalString(x)
		case float32:
			a.DataType, a.String = "Number", strconv.FormatFloat(float64(x), 'g', -1, 32)
		case float64:
			a.DataType, a.String = "Number", strconv.FormatFloat(x, 'g', -1, 64)
		case core.Table, []any:
			a.DataType, a.String = "String.json", jsonText(x)
		default:
			if n, ok := intValue(v); ok {
				a.DataType, a.String = "Number", n
			} else {
				continue
			}
		}
		if dt, ok := types[k].(string); ok && (baseType(dt) == baseType(a.DataType) ||
			baseType(dt) == "Number" && a.DataType == "String") { // a Number kept as its text
			a.DataType = dt
		}
		if a.Binary == nil && baseType(a.DataType) == "Binary" {
			a.Binary = []byte{}
		}
		out = append(out, a)
	}
	slices.SortFunc(out, cmpAttr)
	return out
}

func intValue(v any) (string, bool) {
	switch x := v.(type) {
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

func decimalString(d core.Decimal) string {
	s := strconv.FormatInt(int64(d.Value), 10)
	if d.Scale == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= int(d.Scale) {
		s = "0" + s
	}
	s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	if neg {
		s = "-" + s
	}
	return s
}

// jsonText renders a header table or array as JSON; bytes become base64 and
// times epoch seconds.
func jsonText(v any) string {
	b, err := json.Marshal(plain(v))
	if err != nil {
		return ""
	}
	return string(b)
}

func plain(v any) any {
	switch x := v.(type) {
	case core.Table:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = plain(e)
		}
		return a
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.Unix()
	case core.Decimal:
		return json.Number(decimalString(x))
	}
	return v
}

// sanitize replaces what SQS text may not hold (invalid UTF-8, control
// characters) with U+FFFD, so that what is hashed is what is sent.
func sanitize(s string) string {
	if validText(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') ||
			r == 0xFFFE || r == 0xFFFF {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}
