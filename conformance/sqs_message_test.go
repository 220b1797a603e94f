package conformance

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSQSMessageLimits(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "limits", nil)
	// 1 MiB exactly is accepted, and comes back intact.
	big := strings.Repeat("x", 1<<20)
	sqsSend(t, c, url, big)
	if ms := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{}); aws.ToString(ms[0].Body) != big {
		t.Fatal("1 MiB body changed")
	}
	_, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(big + "x")})
	wantSQSCode(t, err, "InvalidParameterValue")
	// Attributes count towards the size.
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(big[:1<<20-10]),
		MessageAttributes: map[string]types.MessageAttributeValue{"attr": {DataType: aws.String("String"), StringValue: aws.String("0123456789")}}})
	wantSQSCode(t, err, "InvalidParameterValue")
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("bad \x00 char")})
	wantSQSCode(t, err, "InvalidMessageContents")
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
		DelaySeconds: 901})
	wantSQSCode(t, err, "InvalidParameterValue")
	attrs := map[string]types.MessageAttributeValue{}
	for i := 0; i < 11; i++ {
		attrs["a"+strconv.Itoa(i)] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v")}
	}
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageAttributes: attrs})
	wantSQSCode(t, err, "InvalidParameterValue")
	for name, v := range map[string]types.MessageAttributeValue{
		"AWS.reserved": {DataType: aws.String("String"), StringValue: aws.String("v")},
		"num":          {DataType: aws.String("Number"), StringValue: aws.String("one")},
		"typ":          {DataType: aws.String("Date"), StringValue: aws.String("v")},
	} {
		_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
			MessageAttributes: map[string]types.MessageAttributeValue{name: v}})
		wantSQSCode(t, err, "InvalidParameterValue")
	}
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
		MessageDeduplicationId: aws.String("d")})
	wantSQSCode(t, err, "InvalidParameterValue")
}

func TestSQSBatches(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "batch", nil)
	entry := func(id, body string) types.SendMessageBatchRequestEntry {
		return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(body)}
	}
	out, err := c.SendMessageBatch(sqsCtx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		entry("ok1", "one"), entry("bad", "\x01"), entry("ok2", "two")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" ||
		aws.ToString(out.Failed[0].Code) != "InvalidMessageContents" || !out.Failed[0].SenderFault {
		t.Fatalf("partial failure: %+v", out)
	}
	var eleven []types.SendMessageBatchRequestEntry
	for i := 0; i < 11; i++ {
		eleven = append(eleven, entry("e"+strconv.Itoa(i), "x"))
	}
	for _, c2 := range []struct {
		entries []types.SendMessageBatchRequestEntry
		code    string
	}{
		{eleven, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{[]types.SendMessageBatchRequestEntry{}, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{[]types.SendMessageBatchRequestEntry{entry("a", "x"), entry("a", "y")}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{[]types.SendMessageBatchRequestEntry{entry("a b", "x")}, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{[]types.SendMessageBatchRequestEntry{entry("a", strings.Repeat("x", 600<<10)), entry("b", strings.Repeat("y", 600<<10))},
			"AWS.SimpleQueueService.BatchRequestTooLong"},
	} {
		_, err := c.SendMessageBatch(sqsCtx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: c2.entries})
		wantSQSCode(t, err, c2.code)
	}
	ms := sqsReceiveN(t, c, url, 2, sqs.ReceiveMessageInput{})
	del, err := c.DeleteMessageBatch(sqsCtx(t), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: ms[0].ReceiptHandle},
		{Id: aws.String("b"), ReceiptHandle: aws.String("garbage")},
		{Id: aws.String("c"), ReceiptHandle: ms[1].ReceiptHandle}}})
	if err != nil || len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch: %+v %v", del, err)
	}
	// Both messages are gone, not merely hidden.
	for _, attr := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		if n := sqsQueueAttr(t, c, url, attr); n != "0" {
			t.Fatalf("%s after the batch delete: %s", attr, n)
		}
	}
	_, err = c.DeleteMessageBatch(sqsCtx(t), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{}})
	wantSQSCode(t, err, "AWS.SimpleQueueService.EmptyBatchRequest")
}

func TestSQSVisibility(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "vis", map[string]string{"VisibilityTimeout": "1"})
	id := sqsSend(t, c, url, "m")
	first := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})[0]
	if n := sqsQueueAttr(t, c, url, "ApproximateNumberOfMessagesNotVisible"); n != "1" {
		t.Fatalf("in flight: %s", n)
	}
	// After the 1 s timeout it is back, received a second time with a new handle.
	second := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{WaitTimeSeconds: 5,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})[0]
	if aws.ToString(second.MessageId) != id || second.Attributes["ApproximateReceiveCount"] != "2" ||
		aws.ToString(second.ReceiptHandle) == aws.ToString(first.ReceiptHandle) ||
		second.Attributes["ApproximateFirstReceiveTimestamp"] != first.Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Fatalf("second receive: %+v", second)
	}
	// A stale handle: ChangeMessageVisibility refuses it, DeleteMessage accepts it without effect.
	_, err := c.ChangeMessageVisibility(sqsCtx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 10})
	wantSQSCode(t, err, "AWS.SimpleQueueService.MessageNotInflight")
	if _, err := c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatalf("stale DeleteMessage: %v", err)
	}
	// Extend the current lease, then make it visible at once with 0.
	if _, err := c.ChangeMessageVisibility(sqsCtx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 60}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ChangeMessageVisibility(sqsCtx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 43201})
	wantSQSCode(t, err, "InvalidParameterValue")
	bo, err := c.ChangeMessageVisibilityBatch(sqsCtx(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("now"), ReceiptHandle: second.ReceiptHandle, VisibilityTimeout: 0},
			{Id: aws.String("stale"), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0}}})
	if err != nil || len(bo.Successful) != 1 || len(bo.Failed) != 1 || aws.ToString(bo.Failed[0].Id) != "stale" {
		t.Fatalf("ChangeMessageVisibilityBatch: %+v %v", bo, err)
	}
	third := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{VisibilityTimeout: 60})[0]
	_, err = c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("not-a-handle")})
	wantSQSCode(t, err, "ReceiptHandleIsInvalid")
	other := sqsCreate(t, c, "other", nil)
	_, err = c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(other), ReceiptHandle: third.ReceiptHandle})
	wantSQSCode(t, err, "ReceiptHandleIsInvalid")
	if _, err := c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: third.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		if n := sqsQueueAttr(t, c, url, k); n != "0" {
			t.Fatalf("%s = %s after delete", k, n)
		}
	}
	_, err = c.ReceiveMessage(sqsCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
	wantSQSCode(t, err, "InvalidParameterValue")
	_, err = c.ReceiveMessage(sqsCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
	wantSQSCode(t, err, "InvalidParameterValue")
}

func TestSQSLongPollAndDelay(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "poll", nil)
	got := make(chan *sqs.ReceiveMessageOutput, 1)
	go func() {
		out, err := c.ReceiveMessage(sqsCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			t.Error(err)
		}
		got <- out
	}()
	sqsSend(t, c, url, "wake")
	select {
	case out := <-got:
		if out == nil || len(out.Messages) != 1 {
			t.Fatalf("long poll returned %+v", out)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not return after a send")
	}
	// Per-message and per-queue delays.
	dq := sqsCreate(t, c, "delayed", map[string]string{"DelaySeconds": "1"})
	t0 := time.Now()
	sqsSend(t, c, dq, "later")
	if n := sqsQueueAttr(t, c, dq, "ApproximateNumberOfMessagesDelayed"); n != "1" {
		t.Fatalf("delayed = %s", n)
	}
	sqsReceiveN(t, c, dq, 1, sqs.ReceiveMessageInput{WaitTimeSeconds: 5})
	if time.Since(t0) < time.Second {
		t.Fatal("delayed message delivered early")
	}
	if _, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("d"), DelaySeconds: 1}); err != nil {
		t.Fatal(err)
	}
	if n := sqsQueueAttr(t, c, url, "ApproximateNumberOfMessagesDelayed"); n != "1" {
		t.Fatalf("per-message delay: delayed = %s", n)
	}
}

func TestSQSSystemAttributesAndTrace(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "sys", nil)
	out, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m"),
		MessageGroupId: aws.String("tenant-1"), // fair queue: allowed on a standard queue
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")}}})
	if err != nil || aws.ToString(out.MD5OfMessageSystemAttributes) == "" {
		t.Fatalf("SendMessage: %+v %v", out, err)
	}
	m := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{AttributeNames: []types.QueueAttributeName{"All"}})[0]
	if m.Attributes["AWSTraceHeader"] != "Root=1-5759e988-bd862e3fe1be46a994272793" || m.Attributes["MessageGroupId"] != "tenant-1" {
		t.Fatalf("attributes %v", m.Attributes)
	}
	if _, ok := m.Attributes["SequenceNumber"]; ok {
		t.Fatal("SequenceNumber on a standard queue")
	}
	if m.MessageAttributes != nil || m.MD5OfMessageAttributes != nil {
		t.Fatalf("message attributes not asked for: %+v", m)
	}
}
