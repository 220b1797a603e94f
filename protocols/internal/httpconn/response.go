package httpconn

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// response is the http.ResponseWriter of a connection, reused request after
// request. It buffers the body: the AWS front-ends render a response whole
// before writing it, and sending it with its length in one write (writev of
// the header and the body) is what makes it cheap.
type response struct {
	h      http.Header
	status int
	head   bool // a HEAD request: no body is sent
	http10 bool // keep-alive must be said explicitly to an HTTP/1.0 client
	hdr    []byte
	body   []byte
}

// maxKeptBuffer bounds the body buffer a connection keeps between requests,
// so one large response does not pin its memory for the connection's life.
const maxKeptBuffer = 64 << 10

func (rw *response) reset(req *http.Request) {
	if rw.h == nil {
		rw.h = http.Header{}
	} else {
		clear(rw.h)
	}
	rw.status = 0
	rw.head = req != nil && req.Method == http.MethodHead
	rw.http10 = req != nil && !req.ProtoAtLeast(1, 1)
	if cap(rw.body) > maxKeptBuffer {
		rw.body = nil
	}
	rw.body = rw.body[:0]
}

func (rw *response) Header() http.Header { return rw.h }

func (rw *response) WriteHeader(status int) {
	if rw.status == 0 && status >= 200 && status <= 999 {
		rw.status = status
	}
}

func (rw *response) Write(p []byte) (int, error) {
	rw.WriteHeader(http.StatusOK)
	rw.body = append(rw.body, p...)
	return len(p), nil
}

// send writes the response: status line, the handler's headers, Date,
// Content-Length computed here (whatever the handler set), Connection when
// needed, and the body.
func (rw *response) send(nc net.Conn, keep bool) error {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	b := append(rw.hdr[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(rw.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(rw.status)...)
	b = append(b, "\r\n"...)
	for k, vs := range rw.h {
		switch k {
		case "Content-Length", "Connection", "Transfer-Encoding", "Date":
			continue // ours to write
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendHeaderValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(rw.body)), 10)
	switch {
	case !keep:
		b = append(b, "\r\nConnection: close"...)
	case rw.http10:
		b = append(b, "\r\nConnection: keep-alive"...)
	}
	b = append(b, "\r\n\r\n"...)
	rw.hdr = b
	if rw.head || len(rw.body) == 0 {
		_, err := nc.Write(b)
		return err
	}
	bufs := net.Buffers{b, rw.body}
	_, err := bufs.WriteTo(nc)
	return err
}

// appendHeaderValue appends v with any CR or LF made a space, as net/http
// does, so a value can never end the header line early.
func appendHeaderValue(b []byte, v string) []byte {
	if !strings.ContainsAny(v, "\r\n") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
