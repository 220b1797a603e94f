package route

import (
	"errors"
	"math"
	"testing"
	"time"
)

// table stands for core.Table, a named map type this package cannot import.
type table map[string]any

// decimal stands for core.Decimal.
type decimal struct {
	Scale uint8
	Value int32
}

type h = map[string]any

func TestMatchHeaders(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	cases := []struct {
		name          string
		args, headers h
		want          bool
	}{
		// Modes, and what an empty binding means in each.
		{"all empty args, no headers", nil, nil, true},
		{"all empty args", h{"x-match": "all"}, h{"a": 1}, true},
		{"any empty args", h{"x-match": "any"}, h{"a": 1}, false},
		{"any only x- args", h{"x-match": "any", "x-foo": "bar"}, h{"x-foo": "bar"}, false},
		{"all-with-x only x-match", h{"x-match": "all-with-x"}, nil, true},
		{"any-with-x only x-match", h{"x-match": "any-with-x"}, h{"x-match": "any-with-x"}, false},
		{"all equal", h{"a": "1"}, h{"a": "1"}, true},
		{"all default one missing", h{"a": "1", "b": "2"}, h{"a": "1"}, false},
		{"all explicit all match", h{"x-match": "all", "a": "1", "b": "2"}, h{"a": "1", "b": "2", "c": "3"}, true},
		{"all one differs", h{"x-match": "all", "a": "1", "b": "2"}, h{"a": "1", "b": "3"}, false},
		{"all missing headers", h{"a": "1"}, nil, false},
		{"any one of two", h{"x-match": "any", "a": "1", "b": "2"}, h{"a": "1"}, true},
		{"any none", h{"x-match": "any", "a": "1", "b": "2"}, h{"c": "1"}, false},
		{"any missing headers", h{"x-match": "any", "a": "1"}, nil, false},
		{"keys are case sensitive", h{"A": 1}, h{"a": 1}, false},
		// x- arguments.
		{"all ignores x- args", h{"x-foo": "bar"}, h{}, true},
		{"all ignores x- args with others", h{"x-foo": "bar", "a": 1}, h{"a": 1}, true},
		{"x- headers do not hurt", h{"a": 1}, h{"a": 1, "x-b": 2}, true},
		{"all-with-x x- arg present", h{"x-match": "all-with-x", "x-foo": "bar"}, h{"x-foo": "bar"}, true},
		{"all-with-x x- arg missing", h{"x-match": "all-with-x", "x-foo": "bar"}, h{}, false},
		{"all-with-x x- arg differs", h{"x-match": "all-with-x", "x-foo": "bar", "a": 1}, h{"x-foo": "baz", "a": 1}, false},
		{"any-with-x via x- arg", h{"x-match": "any-with-x", "x-foo": "bar", "a": 1}, h{"x-foo": "bar"}, true},
		{"any-with-x none", h{"x-match": "any-with-x", "x-foo": "bar"}, h{"x-foo": "baz"}, false},
		{"any ignores x- arg that would match", h{"x-match": "any", "x-foo": "bar", "a": 1}, h{"x-foo": "bar"}, false},
		// Void: presence.
		{"void present", h{"a": nil}, h{"a": "anything"}, true},
		{"void present void", h{"a": nil}, h{"a": nil}, true},
		{"void absent", h{"a": nil}, h{}, false},
		{"void any", h{"x-match": "any", "a": nil, "b": 1}, h{"a": false}, true},
		{"value vs void header", h{"a": "x"}, h{"a": nil}, false},
		{"void x- with-x", h{"x-match": "all-with-x", "x-a": nil}, h{"x-a": 1}, true},
		// Integers: width does not matter.
		{"int32 vs int64", h{"a": int32(1)}, h{"a": int64(1)}, true},
		{"uint8 vs int16", h{"a": uint8(1)}, h{"a": int16(1)}, true},
		{"int8 -1 vs int64 -1", h{"a": int8(-1)}, h{"a": int64(-1)}, true},
		{"uint32 max vs int64", h{"a": uint32(math.MaxUint32)}, h{"a": int64(math.MaxUint32)}, true},
		{"int64 min", h{"a": int64(math.MinInt64)}, h{"a": int64(math.MinInt64)}, true},
		{"uint64 max vs -1", h{"a": uint64(math.MaxUint64)}, h{"a": int64(-1)}, false},
		{"int vs int32", h{"a": 7}, h{"a": int32(7)}, true},
		{"int differs", h{"a": int32(1)}, h{"a": int32(2)}, false},
		// Integer never equals float; floats by value.
		{"int vs float", h{"a": int64(1)}, h{"a": float64(1)}, false},
		{"float vs int", h{"a": float32(1)}, h{"a": int8(1)}, false},
		{"float32 vs float64 exact", h{"a": float32(1.5)}, h{"a": float64(1.5)}, true},
		{"float32 vs float64 inexact", h{"a": float32(0.1)}, h{"a": float64(0.1)}, false},
		// Strings and binaries are both Erlang binaries.
		{"string vs bytes", h{"a": "abc"}, h{"a": []byte("abc")}, true},
		{"bytes vs string", h{"a": []byte("abc")}, h{"a": "abc"}, true},
		{"bytes vs bytes", h{"a": []byte{0, 1}}, h{"a": []byte{0, 1}}, true},
		{"string differs", h{"a": "abc"}, h{"a": "abd"}, false},
		{"string vs int", h{"a": "1"}, h{"a": 1}, false},
		{"empty string vs nil bytes", h{"a": ""}, h{"a": []byte(nil)}, true},
		// Booleans.
		{"bool", h{"a": true}, h{"a": true}, true},
		{"bool differs", h{"a": true}, h{"a": false}, false},
		{"bool vs int", h{"a": true}, h{"a": int8(1)}, false},
		{"bool vs string", h{"a": true}, h{"a": "true"}, false},
		// Timestamps: seconds.
		{"time same second", h{"a": t0}, h{"a": t0.Add(999 * time.Millisecond)}, true},
		{"time differs", h{"a": t0}, h{"a": t0.Add(time.Second)}, false},
		{"time vs int", h{"a": t0}, h{"a": t0.Unix()}, false},
		// Arrays and tables: element types count.
		{"array equal", h{"a": []any{int32(1), "x"}}, h{"a": []any{int32(1), "x"}}, true},
		{"array element width", h{"a": []any{int32(1)}}, h{"a": []any{int64(1)}}, false},
		{"array string vs bytes", h{"a": []any{"a"}}, h{"a": []any{[]byte("a")}}, false},
		{"array length", h{"a": []any{int32(1)}}, h{"a": []any{int32(1), int32(1)}}, false},
		{"array nested", h{"a": []any{[]any{uint8(1)}, nil}}, h{"a": []any{[]any{uint8(1)}, nil}}, true},
		{"array nested void vs value", h{"a": []any{nil}}, h{"a": []any{false}}, false},
		{"table vs named table", h{"a": map[string]any{"n": int32(1)}}, h{"a": table{"n": int32(1)}}, true},
		{"named table vs table", h{"a": table{"n": "x"}}, h{"a": map[string]any{"n": "x"}}, true},
		{"table element width", h{"a": map[string]any{"n": int32(1)}}, h{"a": map[string]any{"n": int64(1)}}, false},
		{"table extra key", h{"a": map[string]any{"n": int32(1)}}, h{"a": map[string]any{"n": int32(1), "m": nil}}, false},
		{"table in array", h{"a": []any{table{"t": t0}}}, h{"a": []any{map[string]any{"t": t0}}}, true},
		{"empty table vs empty array", h{"a": map[string]any{}}, h{"a": []any{}}, true},
		{"empty array vs empty named table", h{"a": []any{}}, h{"a": table{}}, true},
		{"array vs table", h{"a": []any{"x"}}, h{"a": map[string]any{"0": "x"}}, false},
		{"table vs string", h{"a": table{}}, h{"a": ""}, false},
		// Decimals and other values: identical.
		{"decimal", h{"a": decimal{2, 100}}, h{"a": decimal{2, 100}}, true},
		{"decimal scale", h{"a": decimal{1, 10}}, h{"a": decimal{2, 100}}, false},
		{"decimal vs int", h{"a": decimal{0, 1}}, h{"a": int32(1)}, false},
		// Invalid x-match (rejected at bind time) falls back to all.
		{"bad x-match is all, match", h{"x-match": "foo", "a": 1}, h{"a": 1}, true},
		{"bad x-match is all, no match", h{"x-match": "foo", "a": 1, "b": 2}, h{"a": 1}, false},
		{"binary x-match is all", h{"x-match": []byte("any"), "a": 1, "b": 2}, h{"a": 1}, false},
		{"x-match is case sensitive", h{"x-match": "ANY", "a": 1, "b": 2}, h{"a": 1}, false},
	}
	for _, c := range cases {
		if got := MatchHeaders(c.args, c.headers); got != c.want {
			t.Errorf("%s: MatchHeaders(%v, %v) = %v, want %v", c.name, c.args, c.headers, got, c.want)
		}
	}
}

func TestValidHeadersArgs(t *testing.T) {
	for _, args := range []h{nil, {}, {"a": 1}, {"x-match": "all"}, {"x-match": "any"},
		{"x-match": "all-with-x"}, {"x-match": "any-with-x"}} {
		if err := ValidHeadersArgs(args); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	for _, c := range []struct {
		v   any
		msg string
	}{
		{"foo", `Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x`},
		{"", `Invalid x-match field value <<>>; expected all, any, all-with-x, or any-with-x`},
		{"ALL", `Invalid x-match field value <<"ALL">>; expected all, any, all-with-x, or any-with-x`},
		{"é", `Invalid x-match field value <<"é"/utf8>>; expected all, any, all-with-x, or any-with-x`},
		{"a\x00", `Invalid x-match field value <<97,0>>; expected all, any, all-with-x, or any-with-x`},
		{[]byte("any"), `Invalid x-match field type binary (value <<"any">>); expected longstr`},
		{int32(1), `Invalid x-match field type signedint (value 1); expected longstr`},
		{float64(2), `Invalid x-match field type double (value 2.0); expected longstr`},
		{nil, `Invalid x-match field type void (value undefined); expected longstr`},
		{true, `Invalid x-match field type bool (value true); expected longstr`},
	} {
		err := ValidHeadersArgs(h{"x-match": c.v})
		var xe *XMatchError
		if !errors.As(err, &xe) || err.Error() != c.msg {
			t.Errorf("x-match %#v: %v, want %s", c.v, err, c.msg)
		}
	}
}
