// Package sigv4 verifies AWS Signature Version 4 on incoming requests, in
// both of its forms: the Authorization header and presigned query strings
// (X-Amz-Algorithm, X-Amz-Credential, …). The canonical request is built as
// the AWS SDKs build it, quirks included: the path of a non-S3 request is
// URI-encoded a second time, the host comes from the Host header as sent
// (with its port), header values are trimmed with inner runs of spaces
// collapsed and repeated headers joined with commas, query parameters are
// decoded and re-encoded with AWS's unreserved set and sorted by key then
// value, and X-Amz-Signature is left out of a presigned query.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the payload hash of a request whose body is not signed.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// DefaultMaxSkew is how far a request's date may be from the server's clock,
// as AWS allows.
const DefaultMaxSkew = 15 * time.Minute

// maxPresignExpiry is the longest X-Amz-Expires AWS accepts: 7 days.
const maxPresignExpiry = 7 * 24 * 3600

// Kind classifies a verification failure, as AWS's common error codes do.
type Kind uint8

const (
	MissingAuthenticationToken Kind = iota // no signature at all
	IncompleteSignature                    // a malformed or partial signature
	InvalidClientTokenID                   // unknown access key
	SignatureDoesNotMatch                  // wrong signature
	RequestExpired                         // outside the clock skew or past a presigned expiry
)

// Error is a verification failure.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func fail(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// Identity is who signed a request, and for what.
type Identity struct {
	AccessKeyID string
	Region      string
	Service     string
	Presigned   bool
}

// Verifier checks signatures against a secret-key lookup. It is safe for
// concurrent use.
type Verifier struct {
	// Secret returns the secret access key of an access key id.
	Secret func(accessKeyID string) (string, bool)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// MaxSkew bounds the request date's distance from Now; 0 is DefaultMaxSkew.
	MaxSkew time.Duration

	mu   sync.Mutex
	keys map[keyScope][]byte // signing keys
}

// keyScope is what a signing key is derived from.
type keyScope struct {
	secret string
	credential
}

// Verify checks the signature of r, whose whole body is body. It returns the
// signer's identity, or an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (Identity, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return v.verifyHeader(r, body, auth)
	}
	if r.URL.Query().Get("X-Amz-Algorithm") != "" {
		return v.verifyPresigned(r, body)
	}
	return Identity{}, fail(MissingAuthenticationToken, "Request is missing Authentication Token")
}

// credential is a parsed Credential=AKID/date/region/service/aws4_request.
type credential struct {
	akid, date, region, service string
}

func parseCredential(s string) (credential, *Error) {
	akid, rest, _ := strings.Cut(s, "/")
	date, rest, _ := strings.Cut(rest, "/")
	region, rest, _ := strings.Cut(rest, "/")
	service, term, ok := strings.Cut(rest, "/")
	if !ok || akid == "" || term != "aws4_request" || len(date) != 8 {
		return credential{}, fail(IncompleteSignature,
			"Credential should be scoped to a valid date, region and service: "+strconv.Quote(s)+".")
	}
	return credential{akid: akid, date: date, region: region, service: service}, nil
}

// appendScope appends the credential scope, date/region/service/aws4_request.
func (c credential) appendScope(b []byte) []byte {
	b = append(b, c.date...)
	b = append(b, '/')
	b = append(b, c.region...)
	b = append(b, '/')
	b = append(b, c.service...)
	return append(b, "/aws4_request"...)
}

func (v *Verifier) verifyHeader(r *http.Request, body []byte, auth string) (Identity, error) {
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != Algorithm {
		return Identity{}, fail(IncompleteSignature, "Unsupported authorization type: "+alg+
			" (only "+Algorithm+" is accepted)")
	}
	var credStr, signed, sig string
	for part := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credStr = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			sig = val
		}
	}
	if credStr == "" || signed == "" || sig == "" {
		return Identity{}, fail(IncompleteSignature, "Authorization header requires 'Credential', 'SignedHeaders' and "+
			"'Signature' parameters. Authorization="+auth)
	}
	cred, err := parseCredential(credStr)
	if err != nil {
		return Identity{}, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	var t time.Time
	var perr error
	if amzDate != "" {
		t, perr = time.Parse("20060102T150405Z", amzDate)
	} else if d := r.Header.Get("Date"); d != "" {
		t, perr = http.ParseTime(d)
		amzDate = t.UTC().Format("20060102T150405Z")
	} else {
		return Identity{}, fail(IncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if perr != nil {
		return Identity{}, fail(IncompleteSignature, "Invalid X-Amz-Date "+strconv.Quote(amzDate)+".")
	}
	if err := v.checkSkew(t, amzDate); err != nil {
		return Identity{}, err
	}
	if amzDate[:8] != cred.date {
		return Identity{}, fail(SignatureDoesNotMatch, "Credential should be scoped to a valid date: "+cred.date+
			" does not match "+amzDate[:8]+".")
	}
	secret, ok := v.Secret(cred.akid)
	if !ok {
		return Identity{}, fail(InvalidClientTokenID, "The security token included in the request is invalid.")
	}
	hs, herr := payloadHashes(r, body, false)
	if herr != nil {
		return Identity{}, herr
	}
	if !v.matches(r, secret, cred, amzDate, signed, sig, hs, false) {
		return Identity{}, fail(SignatureDoesNotMatch, "The request signature we calculated does not match the signature "+
			"you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return Identity{AccessKeyID: cred.akid, Region: cred.region, Service: cred.service}, nil
}

func (v *Verifier) verifyPresigned(r *http.Request, body []byte) (Identity, error) {
	q := r.URL.Query()
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return Identity{}, fail(IncompleteSignature, "Unsupported X-Amz-Algorithm "+strconv.Quote(alg)+".")
	}
	credStr, amzDate, signed, sig := q.Get("X-Amz-Credential"), q.Get("X-Amz-Date"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature")
	if credStr == "" || amzDate == "" || signed == "" || sig == "" {
		return Identity{}, fail(IncompleteSignature, "A presigned request requires X-Amz-Credential, X-Amz-Date, "+
			"X-Amz-SignedHeaders and X-Amz-Signature.")
	}
	cred, err := parseCredential(credStr)
	if err != nil {
		return Identity{}, err
	}
	t, perr := time.Parse("20060102T150405Z", amzDate)
	if perr != nil {
		return Identity{}, fail(IncompleteSignature, "Invalid X-Amz-Date "+strconv.Quote(amzDate)+".")
	}
	if amzDate[:8] != cred.date {
		return Identity{}, fail(SignatureDoesNotMatch, "Credential should be scoped to a valid date.")
	}
	exp := 900
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 || n > maxPresignExpiry {
			return Identity{}, fail(IncompleteSignature, "X-Amz-Expires must be from 1 to 604800 seconds.")
		}
		exp = n
	}
	now := v.now()
	if now.Before(t.Add(-v.skew())) {
		return Identity{}, fail(RequestExpired, "Request is not yet valid: X-Amz-Date "+amzDate+" is in the future.")
	}
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return Identity{}, fail(RequestExpired, "Request has expired.")
	}
	secret, ok := v.Secret(cred.akid)
	if !ok {
		return Identity{}, fail(InvalidClientTokenID, "The security token included in the request is invalid.")
	}
	hs, herr := payloadHashes(r, body, true)
	if herr != nil {
		return Identity{}, herr
	}
	if !v.matches(r, secret, cred, amzDate, signed, sig, hs, true) {
		return Identity{}, fail(SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided.")
	}
	return Identity{AccessKeyID: cred.akid, Region: cred.region, Service: cred.service, Presigned: true}, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

func (v *Verifier) checkSkew(t time.Time, amzDate string) *Error {
	now := v.now().UTC()
	s := v.skew()
	if t.Before(now.Add(-s)) || t.After(now.Add(s)) {
		return fail(RequestExpired, "Signature expired: "+amzDate+" is now earlier than "+
			now.Add(-s).Format("20060102T150405Z")+" ("+now.Format("20060102T150405Z")+" - "+
			strconv.Itoa(int(s/time.Minute))+" min.)")
	}
	return nil
}

// payloadHashes lists the payload hashes a signer may have used: the
// X-Amz-Content-Sha256 header when sent (checked against the body unless it
// declares the payload unsigned), else the body's SHA-256, and for a
// presigned request also UNSIGNED-PAYLOAD. Each is hex, as in the canonical
// request.
func payloadHashes(r *http.Request, body []byte, presigned bool) (hashes, *Error) {
	sum := sha256.Sum256(body)
	var actual [2 * sha256.Size]byte
	hex.Encode(actual[:], sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != UnsignedPayload && !strings.HasPrefix(h, "STREAMING-") && h != string(actual[:]) {
			return hashes{}, fail(SignatureDoesNotMatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		return hashes{given: h}, nil
	}
	return hashes{actual: actual, unsigned: presigned}, nil
}

// hashes are the candidate payload hashes: the one the request gave, or the
// body's, then UNSIGNED-PAYLOAD when unsigned is set.
type hashes struct {
	given    string
	actual   [2 * sha256.Size]byte
	unsigned bool
}

// each appends every candidate in turn to b and calls fn with the result,
// until fn reports true.
func (h *hashes) each(b []byte, fn func([]byte) bool) bool {
	if h.given != "" {
		return fn(append(b, h.given...))
	}
	if fn(append(b, h.actual[:]...)) {
		return true
	}
	return h.unsigned && fn(append(b, UnsignedPayload...))
}

// matches recomputes the signature for each candidate canonical form and
// compares in constant time. The canonical request and the string to sign
// are built in pooled buffers: a request is verified without allocating
// them.
func (v *Verifier) matches(r *http.Request, secret string, cred credential, amzDate, signed, sig string,
	hs hashes, presigned bool) bool {
	// Decoded from a copy on the stack: hex.Decode takes bytes, and
	// converting sig would allocate.
	var want [sha256.Size]byte
	var sigHex [2 * sha256.Size]byte
	if len(sig) != len(sigHex) {
		return false
	}
	copy(sigHex[:], sig)
	if _, err := hex.Decode(want[:], sigHex[:]); err != nil {
		return false
	}
	key := v.signingKey(secret, cred)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	// Everything between the URI and the payload hash is the same for every
	// candidate.
	mid := append(sc.mid[:0], '\n')
	mid = appendCanonicalQuery(mid, r.URL.RawQuery, presigned)
	mid = append(mid, '\n')
	mid = appendCanonicalHeaders(mid, r, signed)
	mid = append(mid, '\n')
	mid = append(mid, signed...)
	mid = append(mid, '\n')
	sc.mid = mid
	check := func(creq []byte) bool {
		sc.creq = creq
		h := sha256.Sum256(creq)
		sts := append(sc.sts[:0], Algorithm+"\n"...)
		sts = append(sts, amzDate...)
		sts = append(sts, '\n')
		sts = cred.appendScope(sts)
		sts = append(sts, '\n')
		sts = hex.AppendEncode(sts, h[:])
		sc.sts = sts
		m := hmac.New(sha256.New, key)
		m.Write(sts)
		var got [sha256.Size]byte
		return hmac.Equal(m.Sum(got[:0]), want[:])
	}
	once, twice := canonicalURIs(r)
	for _, uri := range [2]string{once, twice} {
		if uri == "" {
			continue
		}
		b := append(sc.creq[:0], r.Method...)
		b = append(b, '\n')
		b = append(b, uri...)
		b = append(b, mid...)
		if hs.each(b, check) {
			return true
		}
	}
	return false
}

// scratch holds one verification's buffers.
type scratch struct{ mid, creq, sts []byte }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signingKey derives (and caches) the key for secret on cred's scope.
func (v *Verifier) signingKey(secret string, cred credential) []byte {
	ck := keyScope{secret: secret, credential: credential{date: cred.date, region: cred.region, service: cred.service}}
	v.mu.Lock()
	k, ok := v.keys[ck]
	v.mu.Unlock()
	if ok {
		return k
	}
	k = hmacSHA256([]byte("AWS4"+secret), cred.date)
	k = hmacSHA256(k, cred.region)
	k = hmacSHA256(k, cred.service)
	k = hmacSHA256(k, "aws4_request")
	v.mu.Lock()
	if v.keys == nil || len(v.keys) > 1024 { // a new day or many keys: start over
		v.keys = make(map[keyScope][]byte)
	}
	v.keys[ck] = k
	v.mu.Unlock()
	return k
}
