package route

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// valueEqual is the =:= of a binding argument and a header value at the top
// level, where RabbitMQ has dropped the AMQP type (see MatchHeaders). The
// common types are handled by type switches; reflect is reached only for a
// named table type (core.Table, which this package cannot import) and for
// values outside the AMQP set.
func valueEqual(p, h any) bool {
	switch p := p.(type) {
	case string:
		switch h := h.(type) {
		case string:
			return p == h
		case []byte:
			return p == string(h)
		}
		return false
	case []byte:
		switch h := h.(type) {
		case string:
			return string(p) == h
		case []byte:
			return string(p) == string(h)
		}
		return false
	case bool:
		hb, ok := h.(bool)
		return ok && hb == p
	case float64:
		return floatEqual(p, h)
	case float32:
		return floatEqual(float64(p), h)
	case time.Time:
		// AMQP 0-9-1 timestamps are whole seconds.
		ht, ok := h.(time.Time)
		return ok && p.Unix() == ht.Unix()
	case []any:
		if ha, ok := h.([]any); ok {
			return arrayEqual(p, ha)
		}
		ht, ok := asTable(h)
		return ok && len(p) == 0 && len(ht) == 0
	case nil:
		return h == nil
	}
	if pneg, pmag, ok := integer(p); ok {
		hneg, hmag, ok := integer(h)
		return ok && pneg == hneg && pmag == hmag
	}
	if pt, ok := asTable(p); ok {
		if ht, ok := asTable(h); ok {
			return tableEqual(pt, ht)
		}
		ha, ok := h.([]any)
		return ok && len(pt) == 0 && len(ha) == 0
	}
	return otherEqual(p, h)
}

// typedEqual is =:= inside arrays and tables, where RabbitMQ keeps each
// value's AMQP type next to it: {signedint, 1} =/= {long, 1}.
func typedEqual(a, b any) bool {
	ta, tb := amqpType(a), amqpType(b)
	if ta != tb {
		return false
	}
	if ta == 0 {
		return otherEqual(a, b)
	}
	return valueEqual(a, b)
}

func arrayEqual(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !typedEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func tableEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !typedEqual(av, bv) {
			return false
		}
	}
	return true
}

func floatEqual(f float64, h any) bool {
	switch h := h.(type) {
	case float64:
		return f == h
	case float32:
		return f == float64(h)
	}
	return false
}

// integer returns an integer of any width as sign and magnitude, so that
// every pair compares exactly.
func integer(v any) (neg bool, mag uint64, ok bool) {
	var i int64
	switch x := v.(type) {
	case int8:
		i = int64(x)
	case int16:
		i = int64(x)
	case int32:
		i = int64(x)
	case int64:
		i = x
	case int:
		i = int64(x)
	case uint8:
		return false, uint64(x), true
	case uint16:
		return false, uint64(x), true
	case uint32:
		return false, uint64(x), true
	case uint64:
		return false, x, true
	case uint:
		return false, uint64(x), true
	default:
		return false, 0, false
	}
	if i < 0 {
		return true, uint64(-i), true // -MinInt64 wraps to itself, whose uint64 is right
	}
	return false, uint64(i), true
}

var tableType = reflect.TypeFor[map[string]any]()

// asTable returns v as a map[string]any if it is one or is of a named type
// with that underlying type (core.Table).
func asTable(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case nil, string, []byte, bool, int8, uint8, int16, uint16, int32, uint32, int64,
		float32, float64, time.Time, []any:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || !rv.Type().ConvertibleTo(tableType) {
		return nil, false
	}
	return rv.Convert(tableType).Interface().(map[string]any), true
}

// otherEqual compares values outside the AMQP set we know (decimals, types a
// front-end added): identical type and value.
func otherEqual(a, b any) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) {
		return false
	}
	return ta == nil || reflect.DeepEqual(a, b)
}

// amqpType returns the AMQP 0-9-1 field type of v (RabbitMQ's table type
// letters), or 0 for a value outside the set.
func amqpType(v any) byte {
	switch v.(type) {
	case nil:
		return 'V'
	case bool:
		return 't'
	case int8:
		return 'b'
	case uint8:
		return 'B'
	case int16:
		return 's'
	case uint16:
		return 'u'
	case int32:
		return 'I'
	case uint32:
		return 'i'
	case int64, int, uint64, uint: // RabbitMQ decodes both 'l' and 'L' as long
		return 'l'
	case float32:
		return 'f'
	case float64:
		return 'd'
	case string:
		return 'S'
	case []byte:
		return 'x'
	case time.Time:
		return 'T'
	case []any:
		return 'A'
	}
	if _, ok := asTable(v); ok {
		return 'F'
	}
	return 0
}

// amqpTypeName is RabbitMQ's name for v's field type, for error messages.
func amqpTypeName(v any) string {
	switch amqpType(v) {
	case 'V':
		return "void"
	case 't':
		return "bool"
	case 'b':
		return "byte"
	case 'B':
		return "unsignedbyte"
	case 's':
		return "short"
	case 'u':
		return "unsignedshort"
	case 'I':
		return "signedint"
	case 'i':
		return "unsignedint"
	case 'l':
		return "long"
	case 'f':
		return "float"
	case 'd':
		return "double"
	case 'S':
		return "longstr"
	case 'x':
		return "binary"
	case 'T':
		return "timestamp"
	case 'A':
		return "array"
	case 'F':
		return "table"
	}
	if reflect.TypeOf(v).Kind() == reflect.Struct {
		return "decimal"
	}
	return fmt.Sprintf("%T", v)
}

// erlangTerm renders v roughly as Erlang's ~tp would, so that error messages
// read as RabbitMQ's: <<"foo">>, 42, 1.5, true, undefined.
func erlangTerm(v any) string {
	switch x := v.(type) {
	case nil:
		return "undefined"
	case string:
		return erlangBinary(x)
	case []byte:
		return erlangBinary(string(x))
	case float32:
		return erlangFloat(float64(x))
	case float64:
		return erlangFloat(x)
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10)
	}
	return fmt.Sprint(v)
}

func erlangBinary(s string) string {
	if s == "" {
		return "<<>>"
	}
	printable, ascii := utf8.ValidString(s), true
	for _, r := range s {
		printable = printable && unicode.IsPrint(r)
		ascii = ascii && r < utf8.RuneSelf
	}
	if !printable {
		parts := make([]string, len(s))
		for i := range len(s) {
			parts[i] = strconv.Itoa(int(s[i]))
		}
		return "<<" + strings.Join(parts, ",") + ">>"
	}
	q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
	if !ascii {
		return `<<"` + q + `"/utf8>>`
	}
	return `<<"` + q + `">>`
}

func erlangFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}
