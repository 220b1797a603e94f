package awsapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DecodeError reports a request parameter that could not be decoded.
type DecodeError struct {
	Param string // the Query key or JSON path
	Value string
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("Value (%s) for parameter %s is invalid. %s", e.Value, e.Param, e.Msg)
	}
	return fmt.Sprintf("parameter %s is invalid: %s", e.Param, e.Msg)
}

// jsonOptions keep encoding/json's leniencies, which AWS services share:
// member names match regardless of case, a repeated member's last value
// wins and invalid UTF-8 becomes U+FFFD.
var jsonOptions = json.JoinOptions(json.MatchCaseInsensitiveNames(true), jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true))

// DecodeJSON decodes a JSON request body into v. Unknown members are
// ignored, as AWS services ignore them; a body that is not a JSON object is
// an error.
//
// It uses encoding/json/v2, through its mirror module until the Go release
// that makes it standard: with encoding/json, decoding was a third of the
// SQS front-end's CPU in protocols/sqs BenchmarkServeCycle; v2 takes less
// than half that time.
func DecodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil // an operation without input may send nothing
	}
	if body[0] != '{' {
		return &DecodeError{Param: "body", Msg: "the request body must be a JSON object"}
	}
	if err := json.Unmarshal(body, v, jsonOptions); err != nil {
		var se *json.SemanticError
		if errors.As(err, &se) && se.GoType != nil {
			param := strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", ".") // Entries.0.Id
			return &DecodeError{Param: param, Msg: "expected " + se.GoType.String() + ", got " + se.JSONKind.String()}
		}
		return &DecodeError{Param: "body", Msg: err.Error()}
	}
	return nil
}

// DecodeQuery fills the struct *v from Query parameters, driven by each
// field's `query` tag:
//
//	query:"Name"                  scalar, list (Name.1, Name.2 …) or list of structs (Name.1.Field …)
//	query:"Name,Key,Value"        map: Name.1.Key / Name.1.Value (a struct value: Name.1.Value.Field)
//	query:"Tag|Tags,Key,Value"    alternative prefixes, the first present wins
//
// Lists and maps are 1-based and may have gaps; members come in index order.
func DecodeQuery(vs url.Values, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic("awsapi: DecodeQuery needs a pointer to a struct")
	}
	return decodeStruct(vs, "", rv.Elem())
}

type fieldSpec struct {
	index    int
	names    []string // alternative prefixes
	key, val string   // map entry member names
}

var specCache sync.Map // reflect.Type → []fieldSpec

func specsOf(t reflect.Type) []fieldSpec {
	if s, ok := specCache.Load(t); ok {
		return s.([]fieldSpec)
	}
	var out []fieldSpec
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("query")
		if tag == "" || tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		fs := fieldSpec{index: i, names: strings.Split(parts[0], "|")}
		if len(parts) == 3 {
			fs.key, fs.val = parts[1], parts[2]
		}
		out = append(out, fs)
	}
	specCache.Store(t, out)
	return out
}

func decodeStruct(vs url.Values, prefix string, sv reflect.Value) error {
	for _, fs := range specsOf(sv.Type()) {
		f := sv.Field(fs.index)
		for _, name := range fs.names {
			found, err := decodeField(vs, prefix+name, f, fs)
			if err != nil {
				return err
			}
			if found {
				break
			}
		}
	}
	return nil
}

// decodeField decodes the member at key into f and reports whether the
// request had it.
func decodeField(vs url.Values, key string, f reflect.Value, fs fieldSpec) (bool, error) {
	t := f.Type()
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8: // []byte: base64
		s, ok := first(vs, key)
		if !ok {
			return false, nil
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return true, &DecodeError{Param: key, Value: s, Msg: "not valid base64"}
		}
		f.SetBytes(b)
		return true, nil
	case t.Kind() == reflect.Slice:
		idx := indices(vs, key)
		if len(idx) == 0 {
			return false, nil
		}
		out := reflect.MakeSlice(t, 0, len(idx))
		for _, i := range idx {
			ek := key + "." + strconv.Itoa(i)
			ev := reflect.New(t.Elem()).Elem()
			if ev.Kind() == reflect.Struct {
				if err := decodeStruct(vs, ek+".", ev); err != nil {
					return true, err
				}
			} else if _, err := decodeField(vs, ek, ev, fieldSpec{}); err != nil {
				return true, err
			}
			out = reflect.Append(out, ev)
		}
		f.Set(out)
		return true, nil
	case t.Kind() == reflect.Map:
		idx := indices(vs, key)
		if len(idx) == 0 {
			return false, nil
		}
		kn, vn := fs.key, fs.val
		if kn == "" {
			kn, vn = "Name", "Value"
		}
		m := reflect.MakeMapWithSize(t, len(idx))
		for _, i := range idx {
			ek := key + "." + strconv.Itoa(i) + "."
			k, ok := first(vs, ek+kn)
			if !ok {
				return true, &DecodeError{Param: ek + kn, Msg: "missing"}
			}
			ev := reflect.New(t.Elem()).Elem()
			if ev.Kind() == reflect.Struct {
				if err := decodeStruct(vs, ek+vn+".", ev); err != nil {
					return true, err
				}
			} else if _, err := decodeField(vs, ek+vn, ev, fieldSpec{}); err != nil {
				return true, err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		f.Set(m)
		return true, nil
	case t.Kind() == reflect.Struct:
		if !hasPrefix(vs, key+".") {
			return false, nil
		}
		return true, decodeStruct(vs, key+".", f)
	}
	return decodeScalar(vs, key, f)
}

func decodeScalar(vs url.Values, key string, f reflect.Value) (bool, error) {
	s, ok := first(vs, key)
	if !ok {
		return false, nil
	}
	t := f.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if _, err := setScalar(key, s, p.Elem()); err != nil {
			return true, err
		}
		f.Set(p)
		return true, nil
	}
	return setScalar(key, s, f)
}

func setScalar(key, s string, f reflect.Value) (bool, error) {
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, f.Type().Bits())
		if err != nil {
			return true, &DecodeError{Param: key, Value: s, Msg: "not an integer"}
		}
		f.SetInt(n)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			f.SetBool(true)
		case "false":
			f.SetBool(false)
		default:
			return true, &DecodeError{Param: key, Value: s, Msg: "not a boolean"}
		}
	default:
		panic("awsapi: unsupported query field type " + f.Type().String())
	}
	return true, nil
}

func first(vs url.Values, key string) (string, bool) {
	v, ok := vs[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func hasPrefix(vs url.Values, p string) bool {
	for k := range vs {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// maxIndex bounds list indexes: no AWS list holds more than a few thousand.
const maxIndex = 100000

// indices returns the distinct member numbers under key ("key.3…" → 3),
// ascending.
func indices(vs url.Values, key string) []int {
	p := key + "."
	var out []int
	for k := range vs {
		rest, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > maxIndex || num[0] == '0' {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
