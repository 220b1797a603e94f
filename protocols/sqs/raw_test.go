package sqs

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// rawServer runs the SQS API on a memory broker; permissive lets raw
// requests go unsigned.
func rawServer(t *testing.T, permissive bool) *httptest.Server {
	t.Helper()
	return rawServerClock(t, permissive, nil)
}

// rawServerClock is rawServer with a clock driving both core and the front-end.
func rawServerClock(t *testing.T, permissive bool, clock *core.FakeClock) *httptest.Server {
	t.Helper()
	return rawServerWith(t, permissive, clock, store.NewMemory())
}

// rawServerWith is rawServerClock on the store st.
func rawServerWith(t *testing.T, permissive bool, clock *core.FakeClock, st store.Store) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(testServer(t, permissive, clock, st))
	t.Cleanup(hs.Close) // registered last: runs before testServer's cleanup
	return hs
}

// testServer is the SQS front-end on a broker of store st with one vhost
// and one access key, test/test; both stop when tb ends.
func testServer(tb testing.TB, permissive bool, clock *core.FakeClock, st store.Store) *Server {
	tb.Helper()
	cc := core.Config{Store: st}
	var now func() time.Time
	if clock != nil {
		cc.Clock, now = clock, clock.Now
	}
	b, err := core.New(cc)
	if err != nil {
		tb.Fatal(err)
	}
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(b.AddVHost("/"))
	must(b.PutUser("guest", "guest", nil))
	must(b.SetPermissions("guest", "/", ".*", ".*", ".*"))
	s := New(Config{Permissive: permissive, NoPurgeLimit: clock == nil, Now: now,
		AccessKeys: []AccessKey{{ID: "test", Secret: "test", User: "guest", VHost: "/"}}}, b, nil)
	tb.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		_ = b.Close()
	})
	return s
}

type rawResponse struct {
	status int
	header http.Header
	body   string
	err    error // send only
}

func do(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	r := send(req)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

// send is do for a goroutine other than the test's: a failed request is
// reported in err.
func send(req *http.Request) rawResponse {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawResponse{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func postJSON(t *testing.T, hs *httptest.Server, action, body string) rawResponse {
	t.Helper()
	return do(t, jsonRequest(hs, action, body))
}

// jsonRequest is an unsigned AWS JSON 1.0 request for action.
func jsonRequest(hs *httptest.Server, action, body string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	return req
}

func postQuery(t *testing.T, hs *httptest.Server, path string, form url.Values) rawResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, hs.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return do(t, req)
}

func TestRawJSONSendPinsMD5s(t *testing.T) {
	hs := rawServer(t, true)
	if r := postJSON(t, hs, "CreateQueue", `{"QueueName":"q1"}`); r.status != 200 {
		t.Fatalf("CreateQueue: %d %s", r.status, r.body)
	}
	r := postJSON(t, hs, "SendMessage", `{"QueueUrl":"http://elsewhere:1/000000000000/q1","MessageBody":"hello",
		"MessageAttributes":{"foo":{"DataType":"String","StringValue":"bar"}}}`)
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-amz-json-1.0" || r.header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("SendMessage: %d %v %s", r.status, r.header, r.body)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatal(err)
	}
	if out["MD5OfMessageBody"] != "5d41402abc4b2a76b9719d911017c592" || out["MD5OfMessageAttributes"] != "d8062e30406ad939a86bacea477e5a26" {
		t.Fatalf("MD5s: %s", r.body)
	}
	// Without attributes: no MD5OfMessageAttributes at all (PHP rejects the MD5 of nothing).
	r = postJSON(t, hs, "SendMessage", `{"QueueUrl":"/000000000000/q1","MessageBody":"hello"}`)
	if strings.Contains(r.body, "MD5OfMessageAttributes") {
		t.Fatalf("MD5OfMessageAttributes without attributes: %s", r.body)
	}
	r = postJSON(t, hs, "ReceiveMessage", `{"QueueUrl":"/000000000000/q1","MaxNumberOfMessages":10,"MessageAttributeNames":["All"]}`)
	var recv struct {
		Messages []struct {
			Body                   string
			MD5OfBody              string
			MD5OfMessageAttributes *string
			MessageAttributes      map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.body), &recv); err != nil || len(recv.Messages) != 2 {
		t.Fatalf("ReceiveMessage: %v %s", err, r.body)
	}
	if m := recv.Messages[0]; m.MD5OfMessageAttributes == nil || *m.MD5OfMessageAttributes != "d8062e30406ad939a86bacea477e5a26" {
		t.Fatalf("first message: %s", r.body)
	}
	if m := recv.Messages[1]; m.MD5OfMessageAttributes != nil || m.MessageAttributes != nil {
		t.Fatalf("second message has attributes: %s", r.body)
	}
	// Nothing left: no "Messages" key, not an empty one under another name.
	r = postJSON(t, hs, "ReceiveMessage", `{"QueueUrl":"/000000000000/q1"}`)
	if r.body != "{}" {
		t.Fatalf("empty receive: %s", r.body)
	}
}

func TestRawQueryPinsMD5sAndEscapesCR(t *testing.T) {
	hs := rawServer(t, true)
	r := postQuery(t, hs, "/", url.Values{"Action": {"CreateQueue"}, "Version": {"2012-11-05"}, "QueueName": {"q1"}})
	if r.status != 200 || !strings.Contains(r.body, "<QueueUrl>"+hs.URL+"/000000000000/q1</QueueUrl>") {
		t.Fatalf("CreateQueue: %d %s", r.status, r.body)
	}
	r = postQuery(t, hs, "/", url.Values{"Action": {"SendMessage"}, "QueueUrl": {hs.URL + "/000000000000/q1"},
		"MessageBody":             {"line1\r\nline2 \"q\" <&>"},
		"MessageAttribute.1.Name": {"a"}, "MessageAttribute.1.Value.DataType": {"Binary"},
		"MessageAttribute.1.Value.BinaryValue": {"AAE="},
		"MessageAttribute.2.Name":              {"b"}, "MessageAttribute.2.Value.DataType": {"Number"},
		"MessageAttribute.2.Value.StringValue": {"42"}})
	if r.status != 200 || !strings.Contains(r.body, "<MD5OfMessageAttributes>9cc2a2b9b80b80594197c6e8206f2e63</MD5OfMessageAttributes>") ||
		!strings.HasPrefix(r.body, `<?xml version="1.0"?><SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><SendMessageResult>`) ||
		!strings.Contains(r.body, "<ResponseMetadata><RequestId>") {
		t.Fatalf("SendMessage: %d %s", r.status, r.body)
	}
	// Java SDK v1 style: the queue in the path, no QueueUrl.
	r = postQuery(t, hs, "/000000000000/q1", url.Values{"Action": {"ReceiveMessage"}, "MessageAttributeName.1": {"All"},
		"AttributeName.1": {"All"}})
	if !strings.Contains(r.body, "line1&#xD;\nline2 &quot;q&quot; &lt;&amp;&gt;") {
		t.Fatalf("ReceiveMessage: body not escaped as expected: %s", r.body)
	}
	var doc struct {
		Messages []struct {
			Body  string `xml:"Body"`
			MD5   string `xml:"MD5OfBody"`
			Attrs []struct {
				Name  string `xml:"Name"`
				Value struct {
					DataType string `xml:"DataType"`
				} `xml:"Value"`
			} `xml:"MessageAttribute"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if err := xml.Unmarshal([]byte(r.body), &doc); err != nil || len(doc.Messages) != 1 {
		t.Fatalf("parse: %v %s", err, r.body)
	}
	if m := doc.Messages[0]; m.Body != "line1\r\nline2 \"q\" <&>" || m.MD5 != md5Hex([]byte(m.Body)) || len(m.Attrs) != 2 {
		t.Fatalf("message %+v", m)
	}
	// GET with the query string.
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/000000000000/q1?Action=GetQueueAttributes&AttributeName.1=All", nil)
	r = do(t, req)
	if r.status != 200 || !strings.Contains(r.body, "<Attribute><Name>ApproximateNumberOfMessagesNotVisible</Name><Value>1</Value></Attribute>") {
		t.Fatalf("GetQueueAttributes: %d %s", r.status, r.body)
	}
}

func TestRawErrorShapes(t *testing.T) {
	hs := rawServer(t, true)
	r := postJSON(t, hs, "GetQueueUrl", `{"QueueName":"nope"}`)
	if r.status != 400 || r.header.Get("x-amzn-query-error") != "AWS.SimpleQueueService.NonExistentQueue;Sender" ||
		r.body != `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}` {
		t.Fatalf("JSON error: %d %v %s", r.status, r.header, r.body)
	}
	r = postQuery(t, hs, "/", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}})
	if r.status != 400 || !strings.Contains(r.body, "<ErrorResponse><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>") ||
		!strings.Contains(r.body, "<RequestId>") {
		t.Fatalf("XML error: %d %s", r.status, r.body)
	}
	r = postJSON(t, hs, "Frobnicate", `{}`)
	if r.status != 400 || !strings.Contains(r.body, "UnknownOperationException") {
		t.Fatalf("unknown action: %d %s", r.status, r.body)
	}
	r = postJSON(t, hs, "CreateQueue", `{"QueueName":`)
	if r.status != 400 || !strings.Contains(r.body, "SerializationException") {
		t.Fatalf("bad JSON: %d %s", r.status, r.body)
	}
	r = postQuery(t, hs, "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {"/000000000000/q"}, "MaxNumberOfMessages": {"ten"}})
	if r.status != 400 || !strings.Contains(r.body, "<Code>InvalidParameterValue</Code>") {
		t.Fatalf("bad integer: %d %s", r.status, r.body)
	}
	big := strings.Repeat("x", 9<<20)
	r = postJSON(t, hs, "SendMessage", `{"MessageBody":"`+big+`"}`)
	if r.status != 413 {
		t.Fatalf("oversized request: %d %s", r.status, r.body[:min(200, len(r.body))])
	}
}

func TestRawUnsignedRefused(t *testing.T) {
	hs := rawServer(t, false)
	r := postJSON(t, hs, "ListQueues", `{}`)
	if r.status != 403 || r.header.Get("x-amzn-query-error") != "MissingAuthenticationToken;Sender" {
		t.Fatalf("unsigned: %d %v %s", r.status, r.header, r.body)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00")
	if r := do(t, req); r.status != 400 || !strings.Contains(r.body, "RequestExpired") {
		t.Fatalf("stale signature: %d %s", r.status, r.body)
	}
}

// TestRawWaitTimeZero: an explicit WaitTimeSeconds of 0 is a short poll even
// when the queue's ReceiveMessageWaitTimeSeconds is 20 (goaws#240). Were it
// not, this test would wait 20 seconds.
func TestRawWaitTimeZero(t *testing.T) {
	hs := rawServer(t, true)
	postJSON(t, hs, "CreateQueue", `{"QueueName":"w","Attributes":{"ReceiveMessageWaitTimeSeconds":"20"}}`)
	if r := postJSON(t, hs, "ReceiveMessage", `{"QueueUrl":"/000000000000/w","WaitTimeSeconds":0}`); r.status != 200 || r.body != "{}" {
		t.Fatalf("ReceiveMessage: %d %s", r.status, r.body)
	}
}
