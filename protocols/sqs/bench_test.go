package sqs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core/store"
)

// BenchmarkServeCycle measures the front-end and core, without the network
// and without SigV4 (BenchmarkVerify in protocols/internal/sigv4 has that):
// one op is a SendMessageBatch of 10, a ReceiveMessage of 10 and a
// DeleteMessageBatch of the 10, on a memory store, as the end-to-end
// benchmark in conformance does them. It reports the cost per message.
func BenchmarkServeCycle(b *testing.B) {
	s := testServer(b, true, nil, store.NewMemory())
	serve := func(action, body string) []byte {
		req := httptest.NewRequest(http.MethodPost, "http://localhost:9324/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", action, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	serve("CreateQueue", `{"QueueName":"bench"}`)
	const url = `"QueueUrl":"http://localhost:9324/000000000000/bench"`
	var send strings.Builder
	send.WriteString(`{` + url + `,"Entries":[`)
	for i := range 10 {
		if i > 0 {
			send.WriteByte(',')
		}
		fmt.Fprintf(&send, `{"Id":"%d","MessageBody":"a benchmark message of about a hundred bytes, which is what a typical small event carries.."}`, i)
	}
	send.WriteString(`]}`)
	receive := `{` + url + `,"MaxNumberOfMessages":10}`
	var got struct {
		Messages []struct{ ReceiptHandle string }
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		serve("SendMessageBatch", send.String())
		got.Messages = got.Messages[:0]
		if err := json.Unmarshal(serve("ReceiveMessage", receive), &got); err != nil || len(got.Messages) != 10 {
			b.Fatalf("received %d messages: %v", len(got.Messages), err)
		}
		var del strings.Builder
		del.WriteString(`{` + url + `,"Entries":[`)
		for i, m := range got.Messages {
			if i > 0 {
				del.WriteByte(',')
			}
			fmt.Fprintf(&del, `{"Id":"%d","ReceiptHandle":%q}`, i, m.ReceiptHandle)
		}
		del.WriteString(`]}`)
		serve("DeleteMessageBatch", del.String())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(10*b.N), "ns/msg")
}
