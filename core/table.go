package core

// Table is a typed header table, the AMQP field table in Go values. Allowed
// value types: nil (void), bool, int8, uint8, int16, uint16, int32, uint32,
// int64, float32, float64, Decimal, string, []byte, []any, time.Time and Table.
// Front-ends that cannot carry a type natively encode it; nothing is dropped.
type Table map[string]any

// Decimal is an AMQP decimal value: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// Clone returns a deep copy of t (nil for nil).
func (t Table) Clone() Table {
	if t == nil {
		return nil
	}
	c := make(Table, len(t))
	for k, v := range t {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case Table:
		return x.Clone()
	case map[string]any:
		return Table(x).Clone()
	case []any:
		c := make([]any, len(x))
		for i := range x {
			c[i] = cloneValue(x[i])
		}
		return c
	case []byte:
		return append([]byte(nil), x...)
	default:
		return v
	}
}

// IntValue reads a table value of any integer type (as clients send
// arguments in whichever width they like); false for any other type or a
// uint64 beyond int64.
func IntValue(v any) (int64, bool) { return tableInt(v) }

// tableInt reads an integer-valued argument of any integer type.
func tableInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint64:
		if x <= 1<<63-1 {
			return int64(x), true
		}
	}
	return 0, false
}
