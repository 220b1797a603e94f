package wire

import "strconv"

// Method is one AMQP method: a generated struct such as *BasicPublish. The
// interface is sealed: only this package's generated types implement it.
type Method interface {
	ClassID() uint16
	MethodID() uint16
	Name() string     // "basic.publish"
	HasContent() bool // a content header and body frames follow it
	Sync() bool       // the peer answers it (unless its no-wait bit is set)

	encode(w *buffer)
	decode(r *reader) error
}

// MethodKey identifies a method on the wire (AMQP 0-9-1 §4.2.4).
type MethodKey struct {
	Class  uint16
	Method uint16
}

// String returns the method's name, as MethodName does.
func (k MethodKey) String() string { return MethodName(k.Class, k.Method) }

// MethodName returns "class.method" for a method of the spec ("basic.publish")
// and "class C method M" for any other key.
func MethodName(class, method uint16) string {
	if s := methodName(class, method); s != "" {
		return s
	}
	return "class " + strconv.Itoa(int(class)) + " method " + strconv.Itoa(int(method))
}

func methodKey(class, method uint16) uint32 { return uint32(class)<<16 | uint32(method) }
