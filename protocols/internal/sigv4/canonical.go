package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// canonicalURIs returns the canonical URIs a signer may have used: the SDKs
// encode the already-escaped path a second time for every service but S3
// (aws-sdk-go-v2 httpbinding.EscapePath, botocore quote(path, safe='/~')),
// and a signer that did not is accepted too when the two differ (single is
// "" when they do not).
func canonicalURIs(r *http.Request) (twice, single string) {
	p := r.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	twice = uriEncode(p, true)
	if twice == p {
		return p, ""
	}
	return twice, p
}

// appendCanonicalQuery appends the raw query decoded (with '+' as a space,
// as the SDKs treat it), its keys and values re-encoded with AWS's
// unreserved set and sorted by key, then value. X-Amz-Signature is left out
// of a presigned query.
func appendCanonicalQuery(b []byte, raw string, presigned bool) []byte {
	if raw == "" {
		return b
	}
	type kv struct{ k, v string }
	var ps []kv
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		ps = append(ps, kv{uriEncode(k, false), uriEncode(v, false)})
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].k != ps[j].k {
			return ps[i].k < ps[j].k
		}
		return ps[i].v < ps[j].v
	})
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

// appendCanonicalHeaders appends the signed headers, each "name:value\n".
// Go's server moves Host out of the header map into r.Host, and may hold the
// length only in r.ContentLength; both are read from there.
func appendCanonicalHeaders(b []byte, r *http.Request, signed string) []byte {
	for name := range strings.SplitSeq(signed, ";") {
		b = append(b, name...)
		b = append(b, ':')
		switch name {
		case "host":
			b = append(b, strings.TrimSpace(r.Host)...)
		case "content-length":
			if v := r.Header.Get("Content-Length"); v != "" {
				b = appendTrimAll(b, v)
			} else if r.ContentLength >= 0 {
				b = strconv.AppendInt(b, r.ContentLength, 10)
			}
		default:
			for i, v := range headerValues(r.Header, name) {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendTrimAll(b, v)
			}
		}
		b = append(b, '\n')
	}
	return b
}

// headerValues is h.Values(name) for a lower-case signed name, without the
// allocation of canonicalizing it into a new string: the canonical form is
// built on the stack, and a map lookup by string(bytes) does not copy.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
		upper = c == '-'
	}
	if vs, ok := h[string(buf[:len(name)])]; ok {
		return vs
	}
	return h.Values(name) // a key net/http did not canonicalize this way
}

// appendTrimAll appends v trimmed, with each inner run of spaces collapsed
// to one (SigV4's Trimall).
func appendTrimAll(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return append(b, v...)
	}
	for i, f := range strings.Fields(v) {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return b
}

// uriEncode percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (and / when
// keepSlash), with upper-case hex, as SigV4 specifies.
func uriEncode(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i], keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c, keepSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte, keepSlash bool) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/')
}
