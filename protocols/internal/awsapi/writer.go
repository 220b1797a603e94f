package awsapi

import (
	"encoding/base64"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Writer renders one response body in the request's protocol from a single
// description: JSON objects, arrays and maps, or the Query protocol's XML
// with its flattened lists and Name/Value map entries. Write members in the
// model's order; a JSON writer places commas itself.
type Writer struct {
	json  bool
	comma bool
	B     []byte
	ns    string
	op    string
	res   bool
}

// NewWriter returns a writer for protocol p; ns is the XML namespace of the
// service ("http://queue.amazonaws.com/doc/2012-11-05/").
func NewWriter(p Protocol, ns string, buf []byte) *Writer {
	return &Writer{json: p == JSON, ns: ns, B: buf[:0]}
}

// JSON reports whether w writes JSON.
func (w *Writer) JSON() bool { return w.json }

// Begin opens the response of operation op; withResult says whether the
// operation has an output shape (the XML <OpResult> element).
func (w *Writer) Begin(op string, withResult bool) {
	w.op, w.res = op, withResult
	if w.json {
		w.B = append(w.B, '{')
		w.comma = false
		return
	}
	w.B = append(w.B, `<?xml version="1.0"?>`...)
	w.B = append(w.B, '<')
	w.B = append(w.B, op...)
	w.B = append(w.B, `Response xmlns="`...)
	w.B = append(w.B, w.ns...)
	w.B = append(w.B, `">`...)
	if withResult {
		w.B = append(w.B, '<')
		w.B = append(w.B, op...)
		w.B = append(w.B, "Result>"...)
	}
}

// End closes the response; requestID goes into the XML ResponseMetadata.
func (w *Writer) End(requestID string) []byte {
	if w.json {
		w.B = append(w.B, '}')
		return w.B
	}
	if w.res {
		w.B = append(w.B, "</"...)
		w.B = append(w.B, w.op...)
		w.B = append(w.B, "Result>"...)
	}
	w.B = append(w.B, "<ResponseMetadata><RequestId>"...)
	w.B = AppendXMLEscaped(w.B, requestID)
	w.B = append(w.B, "</RequestId></ResponseMetadata></"...)
	w.B = append(w.B, w.op...)
	w.B = append(w.B, "Response>"...)
	return w.B
}

func (w *Writer) key(name string) {
	if w.comma {
		w.B = append(w.B, ',')
	}
	w.B = append(w.B, '"')
	w.B = append(w.B, name...)
	w.B = append(w.B, '"', ':')
}

func (w *Writer) open(name string) {
	w.B = append(w.B, '<')
	w.B = append(w.B, name...)
	w.B = append(w.B, '>')
}

func (w *Writer) close(name string) {
	w.B = append(w.B, '<', '/')
	w.B = append(w.B, name...)
	w.B = append(w.B, '>')
}

// Str writes a string member.
func (w *Writer) Str(name, v string) {
	if w.json {
		w.key(name)
		w.B = AppendJSONString(w.B, v)
		w.comma = true
		return
	}
	w.open(name)
	w.B = AppendXMLEscaped(w.B, v)
	w.close(name)
}

// Int writes an integer member (a JSON number, XML text).
func (w *Writer) Int(name string, v int64) {
	if w.json {
		w.key(name)
		w.B = strconv.AppendInt(w.B, v, 10)
		w.comma = true
		return
	}
	w.open(name)
	w.B = strconv.AppendInt(w.B, v, 10)
	w.close(name)
}

// Bool writes a boolean member.
func (w *Writer) Bool(name string, v bool) {
	if w.json {
		w.key(name)
		w.B = strconv.AppendBool(w.B, v)
		w.comma = true
		return
	}
	w.open(name)
	w.B = strconv.AppendBool(w.B, v)
	w.close(name)
}

// Blob writes a binary member, base64-encoded in both protocols.
func (w *Writer) Blob(name string, v []byte) {
	if w.json {
		w.key(name)
		w.B = append(w.B, '"')
		w.B = base64.StdEncoding.AppendEncode(w.B, v)
		w.B = append(w.B, '"')
		w.comma = true
		return
	}
	w.open(name)
	w.B = base64.StdEncoding.AppendEncode(w.B, v)
	w.close(name)
}

// StrList writes a list of strings: a JSON array named jsonName, or the
// flattened XML elements <xmlName>v</xmlName>.
func (w *Writer) StrList(jsonName, xmlName string, vs []string) {
	if w.json {
		w.key(jsonName)
		w.B = append(w.B, '[')
		for i, v := range vs {
			if i > 0 {
				w.B = append(w.B, ',')
			}
			w.B = AppendJSONString(w.B, v)
		}
		w.B = append(w.B, ']')
		w.comma = true
		return
	}
	for _, v := range vs {
		w.Str(xmlName, v)
	}
}

// StrMap writes a string map with sorted keys: a JSON object named jsonName,
// or flattened XML entries <entry><key>k</key><val>v</val></entry>.
func (w *Writer) StrMap(jsonName, entry, key, val string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if w.json {
		w.key(jsonName)
		w.B = append(w.B, '{')
		for i, k := range keys {
			if i > 0 {
				w.B = append(w.B, ',')
			}
			w.B = AppendJSONString(w.B, k)
			w.B = append(w.B, ':')
			w.B = AppendJSONString(w.B, m[k])
		}
		w.B = append(w.B, '}')
		w.comma = true
		return
	}
	for _, k := range keys {
		w.open(entry)
		w.Str(key, k)
		w.Str(val, m[k])
		w.close(entry)
	}
}

// BeginList opens a list of structures; each item is written between
// BeginItem and EndItem. XML lists are flattened: the list itself has no
// element.
func (w *Writer) BeginList(jsonName string) {
	if w.json {
		w.key(jsonName)
		w.B = append(w.B, '[')
		w.comma = false
	}
}

// EndList closes a list.
func (w *Writer) EndList() {
	if w.json {
		w.B = append(w.B, ']')
		w.comma = true
	}
}

// BeginItem opens one structure of a list (<xmlName> in XML).
func (w *Writer) BeginItem(xmlName string) {
	if w.json {
		if w.comma {
			w.B = append(w.B, ',')
		}
		w.B = append(w.B, '{')
		w.comma = false
		return
	}
	w.open(xmlName)
}

// EndItem closes a structure of a list.
func (w *Writer) EndItem(xmlName string) {
	if w.json {
		w.B = append(w.B, '}')
		w.comma = true
		return
	}
	w.close(xmlName)
}

// BeginMap opens a map whose values are structures.
func (w *Writer) BeginMap(jsonName string) {
	if w.json {
		w.key(jsonName)
		w.B = append(w.B, '{')
		w.comma = false
	}
}

// EndMap closes a map of structures.
func (w *Writer) EndMap() {
	if w.json {
		w.B = append(w.B, '}')
		w.comma = true
	}
}

// BeginEntry opens the entry k of a map of structures: in XML
// <entry><key>k</key><val>, then the structure's members.
func (w *Writer) BeginEntry(entry, key, val, k string) {
	if w.json {
		w.key(k)
		w.B = append(w.B, '{')
		w.comma = false
		return
	}
	w.open(entry)
	w.Str(key, k)
	w.open(val)
}

// EndEntry closes a map entry.
func (w *Writer) EndEntry(entry, val string) {
	if w.json {
		w.B = append(w.B, '}')
		w.comma = true
		return
	}
	w.close(val)
	w.close(entry)
}

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"

// AppendXMLEscaped appends s escaped for XML text and attribute values. \r
// becomes &#xD; so that an XML parser's line-end normalisation cannot turn it
// into \n (which would break the body's MD5); " becomes &quot;. Characters XML
// 1.0 forbids, and invalid UTF-8, become U+FFFD.
func AppendXMLEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		size := 1
		if c < utf8.RuneSelf {
			switch c {
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '"':
				esc = "&quot;"
			case '\'':
				esc = "&apos;"
			case '\r':
				esc = "&#xD;"
			case '\n', '\t':
			default:
				if c < 0x20 {
					esc = "\uFFFD"
				}
			}
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			size = n
			if (r == utf8.RuneError && n == 1) || !xmlChar(r) {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}

// xmlChar reports whether r may appear in an XML 1.0 document.
func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
