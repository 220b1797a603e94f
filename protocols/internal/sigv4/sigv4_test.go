package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var secrets = map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "test": "test"}

func verifier(now time.Time) *Verifier {
	return &Verifier{
		Secret: func(id string) (string, bool) { s, ok := secrets[id]; return s, ok },
		Now:    func() time.Time { return now },
	}
}

// asServer writes the client request out and reads it back as net/http's
// server would, so the test sees r.Host and the header map as a handler does.
func asServer(t *testing.T, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, body
}

// TestAWSSuiteGetVanilla is "get-vanilla" of the AWS SigV4 test suite.
func TestAWSSuiteGetVanilla(t *testing.T) {
	raw := "GET / HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: 20150830T123600Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
		"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := verifier(time.Date(2015, 8, 30, 12, 40, 0, 0, time.UTC)).Verify(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.AccessKeyID != "AKIDEXAMPLE" || id.Region != "us-east-1" || id.Service != "service" {
		t.Fatalf("identity %+v", id)
	}
}

func sdkSign(t *testing.T, req *http.Request, body []byte, akid, secret string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
}

func newReq(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	req.Header.Add("X-Custom", "a   b  ")
	req.Header.Add("X-Custom", " c")
	return req
}

func kindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}

func TestSDKSignedRequests(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	body := []byte("Action=SendMessage&MessageBody=hello%20world&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq")
	cases := []struct {
		name   string
		url    string
		akid   string
		secret string
		now    time.Time
		tamper func(*http.Request, []byte) []byte
		want   Kind
		ok     bool
	}{
		{name: "root path", url: "http://127.0.0.1:9324/", akid: "test", secret: "test", now: at, ok: true},
		{name: "queue path and query", url: "http://localhost:9324/000000000000/q-1?b=2&a=1&a=0&sp=x%20y&t=~z", akid: "test", secret: "test", now: at, ok: true},
		{name: "escaped path", url: "http://localhost:9324/000000000000/q%20x", akid: "test", secret: "test", now: at, ok: true},
		{name: "skew within", url: "http://h/", akid: "test", secret: "test", now: at.Add(14 * time.Minute), ok: true},
		{name: "skew past", url: "http://h/", akid: "test", secret: "test", now: at.Add(16 * time.Minute), want: RequestExpired},
		{name: "future", url: "http://h/", akid: "test", secret: "test", now: at.Add(-16 * time.Minute), want: RequestExpired},
		{name: "unknown key", url: "http://h/", akid: "nobody", secret: "x", now: at, want: InvalidClientTokenID},
		{name: "wrong secret", url: "http://h/", akid: "test", secret: "nope", now: at, want: SignatureDoesNotMatch},
		{name: "body changed", url: "http://h/", akid: "test", secret: "test", now: at, want: SignatureDoesNotMatch,
			tamper: func(_ *http.Request, b []byte) []byte { return append(b, 'x') }},
		{name: "signed header changed", url: "http://h/", akid: "test", secret: "test", now: at, want: SignatureDoesNotMatch,
			tamper: func(r *http.Request, b []byte) []byte {
				r.Header.Set("X-Amz-Target", "AmazonSQS.DeleteQueue")
				return b
			}},
		{name: "no auth", url: "http://h/", now: at, want: MissingAuthenticationToken,
			tamper: func(r *http.Request, b []byte) []byte { r.Header.Del("Authorization"); return b }},
		{name: "garbled auth", url: "http://h/", akid: "test", secret: "test", now: at, want: IncompleteSignature,
			tamper: func(r *http.Request, b []byte) []byte {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/2026")
				return b
			}},
		{name: "other algorithm", url: "http://h/", akid: "test", secret: "test", now: at, want: IncompleteSignature,
			tamper: func(r *http.Request, b []byte) []byte { r.Header.Set("Authorization", "AWS test:abc"); return b }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := newReq(t, http.MethodPost, c.url, body)
			if c.akid != "" {
				sdkSign(t, req, body, c.akid, c.secret, at)
			}
			sr, got := asServer(t, req)
			if c.tamper != nil {
				got = c.tamper(sr, got)
			}
			id, err := verifier(c.now).Verify(sr, got)
			if c.ok {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if id.AccessKeyID != c.akid || id.Service != "sqs" || id.Region != "us-east-1" {
					t.Fatalf("identity %+v", id)
				}
				return
			}
			k, ok := kindOf(err)
			if !ok || k != c.want {
				t.Fatalf("got %v (kind %v), want kind %v", err, k, c.want)
			}
		})
	}
}

func TestPresigned(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	req, _ := http.NewRequest(http.MethodGet, "http://localhost:9324/000000000000/q?Action=GetQueueAttributes&AttributeName.1=All&X-Amz-Expires=60", nil)
	sum := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		url  string
		now  time.Time
		want Kind
		ok   bool
	}{
		{"valid", u, at.Add(30 * time.Second), 0, true},
		{"expired", u, at.Add(61 * time.Second), RequestExpired, false},
		{"tampered", strings.Replace(u, "AttributeName.1=All", "AttributeName.1=Policy", 1), at, SignatureDoesNotMatch, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, c.url, nil)
			sr, body := asServer(t, r)
			id, err := verifier(c.now).Verify(sr, body)
			if c.ok {
				if err != nil || !id.Presigned {
					t.Fatalf("verify: %v %+v", err, id)
				}
				return
			}
			if k, ok := kindOf(err); !ok || k != c.want {
				t.Fatalf("got %v, want kind %v", err, c.want)
			}
		})
	}
}

func TestURIEncode(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"/", "/"},
		{"/000000000000/q-1_x.fifo", "/000000000000/q-1_x.fifo"},
		{"/a b", "/a%20b"},
		{"/a%20b", "/a%2520b"},
		{"~*+", "~%2A%2B"},
	} {
		if got := uriEncode(c.in, true); got != c.out {
			t.Errorf("uriEncode(%q) = %q, want %q", c.in, got, c.out)
		}
	}
	if got := string(appendCanonicalQuery([]byte("prefix:"), "b=2&a=1&a=0&X-Amz-Signature=ff&sp=x+y", true)); got != "prefix:a=0&a=1&b=2&sp=x%20y" {
		t.Errorf("appendCanonicalQuery = %q", got)
	}
	h := http.Header{"X-Amz-Date": {" 20260101T000000Z "}, "X-Multi": {"a  b", "c"}}
	r := &http.Request{Header: h, Host: "h:1", ContentLength: 3}
	want := "host:h:1\ncontent-length:3\nx-amz-date:20260101T000000Z\nx-multi:a b,c\nx-none:\n"
	if got := string(appendCanonicalHeaders(nil, r, "host;content-length;x-amz-date;x-multi;x-none")); got != want {
		t.Errorf("appendCanonicalHeaders = %q, want %q", got, want)
	}
}

// BenchmarkVerify: one SDK-signed SendMessageBatch of about 1.3 KB, as the
// aws-sdk-go-v2 SQS client sends it.
func BenchmarkVerify(b *testing.B) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"QueueUrl":"http://127.0.0.1:9324/000000000000/bench","Entries":[` +
		strings.Repeat(`{"Id":"0","MessageBody":"a benchmark message of about a hundred bytes, which is what a typical small event carries.."},`, 9) +
		`{"Id":"9","MessageBody":"a benchmark message"}]}`)
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9324/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessageBatch")
	req.Header.Set("Amz-Sdk-Invocation-Id", "9b2f7a34-8a6e-4d35-9a1c-3f1e0b6f2b3c")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", at); err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Secret: func(string) (string, bool) { return "test", true }, Now: func() time.Time { return at }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}
