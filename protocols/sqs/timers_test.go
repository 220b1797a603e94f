package sqs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
)

// The rules that take time, under a fake clock that drives core and the
// front-end alike.
func TestTimedRules(t *testing.T) {
	clock := core.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	hs := rawServerClock(t, true, clock)
	ok := func(action, body string) string {
		t.Helper()
		r := postJSON(t, hs, action, body)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", action, r.status, r.body)
		}
		return r.body
	}
	fails := func(action, body, code string) {
		t.Helper()
		r := postJSON(t, hs, action, body)
		if r.status == 200 || r.header.Get("x-amzn-query-error") != code+";Sender" {
			t.Fatalf("%s: %d %s, want %s", action, r.status, r.body, code)
		}
	}
	count := func(q string) string {
		var out struct{ Attributes map[string]string }
		_ = json.Unmarshal([]byte(ok("GetQueueAttributes", `{"QueueUrl":"/000000000000/`+q+`","AttributeNames":["All"]}`)), &out)
		return out.Attributes["ApproximateNumberOfMessages"] + "/" + out.Attributes["ApproximateNumberOfMessagesNotVisible"]
	}

	// Retention: a message older than MessageRetentionPeriod is gone.
	ok("CreateQueue", `{"QueueName":"r","Attributes":{"MessageRetentionPeriod":"60"}}`)
	ok("SendMessage", `{"QueueUrl":"/000000000000/r","MessageBody":"old"}`)
	clock.Advance(61 * time.Second)
	if body := ok("ReceiveMessage", `{"QueueUrl":"/000000000000/r"}`); body != "{}" || count("r") != "0/0" {
		t.Fatalf("expired message still there: %s %s", body, count("r"))
	}

	// Visibility timeout: back after it, not before.
	ok("SendMessage", `{"QueueUrl":"/000000000000/r","MessageBody":"m"}`)
	ok("ReceiveMessage", `{"QueueUrl":"/000000000000/r","VisibilityTimeout":10}`)
	clock.Advance(9 * time.Second)
	if c := count("r"); c != "0/1" {
		t.Fatalf("before the timeout: %s", c)
	}
	clock.Advance(2 * time.Second)
	if c := count("r"); c != "1/0" {
		t.Fatalf("after the timeout: %s", c)
	}

	// PurgeQueue: once per 60 seconds.
	ok("PurgeQueue", `{"QueueUrl":"/000000000000/r"}`)
	fails("PurgeQueue", `{"QueueUrl":"/000000000000/r"}`, "AWS.SimpleQueueService.PurgeQueueInProgress")
	clock.Advance(61 * time.Second)
	ok("PurgeQueue", `{"QueueUrl":"/000000000000/r"}`)

	// A deleted queue's name is free again after 60 seconds.
	ok("DeleteQueue", `{"QueueUrl":"/000000000000/r"}`)
	fails("CreateQueue", `{"QueueName":"r"}`, "AWS.SimpleQueueService.QueueDeletedRecently")
	clock.Advance(61 * time.Second)
	ok("CreateQueue", `{"QueueName":"r"}`)

	// FIFO deduplication lasts 5 minutes, then the same id is a new message.
	ok("CreateQueue", `{"QueueName":"f.fifo","Attributes":{"FifoQueue":"true"}}`)
	send := `{"QueueUrl":"/000000000000/f.fifo","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d"}`
	first := ok("SendMessage", send)
	clock.Advance(4 * time.Minute)
	if again := ok("SendMessage", send); messageIDOf(again) != messageIDOf(first) {
		t.Fatal("duplicate inside the window accepted")
	}
	clock.Advance(2 * time.Minute)
	if later := ok("SendMessage", send); messageIDOf(later) == messageIDOf(first) {
		t.Fatal("same id after the window still deduplicated")
	}
	if !strings.Contains(count("f.fifo"), "2/") {
		t.Fatalf("FIFO queue holds %s", count("f.fifo"))
	}
}

func messageIDOf(body string) string {
	var out struct{ MessageId string }
	_ = json.Unmarshal([]byte(body), &out)
	return out.MessageId
}
