package awsapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Protocol is the wire protocol of one request.
type Protocol uint8

const (
	// Query is the legacy protocol: Action=… in a form POST body or a GET
	// query string, answered in XML.
	Query Protocol = iota
	// JSON is AWS JSON 1.0: X-Amz-Target names the action, the body is JSON,
	// and so is the answer.
	JSON
)

func (p Protocol) String() string {
	if p == JSON {
		return "json"
	}
	return "query"
}

// JSONContentType is the media type of AWS JSON 1.0 requests and responses.
const JSONContentType = "application/x-amz-json-1.0"

// DetectProtocol tells the protocol of r: JSON when X-Amz-Target is present
// or the media type is any application/x-amz-json* (ElasticMQ's rule; exact
// matching breaks on "application/x-amz-json-1.0; charset=utf-8"), Query
// otherwise.
func DetectProtocol(r *http.Request) Protocol {
	if r.Header.Get("X-Amz-Target") != "" {
		return JSON
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/x-amz-json") {
		return JSON
	}
	return Query
}

// JSONAction returns the operation named by X-Amz-Target ("AmazonSQS.SendMessage"
// with prefix "AmazonSQS" gives "SendMessage"), or "" when the header names
// another service or nothing.
func JSONAction(r *http.Request, prefix string) string {
	t := r.Header.Get("X-Amz-Target")
	p, op, ok := strings.Cut(t, ".")
	if !ok || p != prefix {
		return ""
	}
	return op
}

// ErrTooLarge is returned by ReadBody for a body over the limit.
var ErrTooLarge = errors.New("request body too large")

// bufPool recycles request body buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// ReadBody reads r's body, refusing one longer than limit before reading it
// whole: a declared Content-Length over the limit is refused at once, and an
// undeclared length is read only up to limit+1 bytes. The returned buffer
// comes from a pool; give it back with ReleaseBody once nothing refers to
// its bytes.
func ReadBody(r *http.Request, limit int64) (*[]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrTooLarge
	}
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if r.ContentLength > 0 && int64(cap(b)) < r.ContentLength {
		b = make([]byte, 0, r.ContentLength)
	}
	lr := io.LimitReader(r.Body, limit+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = b
			ReleaseBody(bp)
			return nil, err
		}
	}
	*bp = b
	if int64(len(b)) > limit {
		ReleaseBody(bp)
		return nil, ErrTooLarge
	}
	return bp, nil
}

// ReleaseBody returns a buffer of ReadBody to the pool. Huge buffers are
// dropped so that one large request does not pin its memory for ever.
func ReleaseBody(bp *[]byte) {
	if bp == nil || cap(*bp) > 1<<20 {
		return
	}
	*bp = (*bp)[:0]
	bufPool.Put(bp)
}

// maxQueryParams bounds the parameters of a Query request: SendMessageBatch
// with 10 entries of 10 attributes of 3 fields is about 400.
const maxQueryParams = 5000

// ParseQuery returns the parameters of a Query request: the URL's query
// string and, for a form POST, the body's. Keys repeated keep every value.
func ParseQuery(r *http.Request, body []byte) (url.Values, error) {
	vs := url.Values{}
	if err := parseInto(vs, r.URL.RawQuery); err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct := r.Header.Get("Content-Type")
		mt := ""
		if ct != "" {
			mt, _, _ = mime.ParseMediaType(ct)
		}
		if ct == "" || mt == "application/x-www-form-urlencoded" {
			if err := parseInto(vs, string(body)); err != nil {
				return nil, err
			}
		}
	}
	return vs, nil
}

// parseInto parses form-encoded s into vs with a bound on the count.
func parseInto(vs url.Values, s string) error {
	n := 0
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if kv == "" {
			continue
		}
		if n++; n > maxQueryParams {
			return errors.New("too many parameters")
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return err
		}
		v, err = url.QueryUnescape(v)
		if err != nil {
			return err
		}
		vs[k] = append(vs[k], v)
	}
	return nil
}

// NewRequestID returns a random UUID (version 4), the form AWS request ids
// and message ids take.
func NewRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	return FormatUUID(u)
}

// FormatUUID formats 16 bytes as a version 4 UUID.
func FormatUUID(u [16]byte) string {
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
