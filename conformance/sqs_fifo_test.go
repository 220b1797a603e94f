package conformance

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func sqsFIFOSend(t *testing.T, c *sqs.Client, url, body, group, dedup string) *sqs.SendMessageOutput {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageGroupId: aws.String(group)}
	if dedup != "" {
		in.MessageDeduplicationId = aws.String(dedup)
	}
	out, err := c.SendMessage(sqsCtx(t), in)
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func TestSQSFIFOOrderAndGroups(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "orders.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "60"})
	if got := sqsQueueAttr(t, c, url, "FifoQueue"); got != "true" {
		t.Fatalf("FifoQueue = %q", got)
	}
	var last string
	for i := 0; i < 4; i++ {
		out := sqsFIFOSend(t, c, url, "a"+strconv.Itoa(i), "A", "a"+strconv.Itoa(i))
		if seq := aws.ToString(out.SequenceNumber); seq <= last || len(seq) != 20 {
			t.Fatalf("SequenceNumber %q after %q", seq, last)
		} else {
			last = seq
		}
	}
	sqsFIFOSend(t, c, url, "b0", "B", "b0")
	// One receive takes group A's run in order; B waits for the next receive.
	out, err := c.ReceiveMessage(sqsCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 2,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if err != nil || len(out.Messages) != 2 || aws.ToString(out.Messages[0].Body) != "a0" || aws.ToString(out.Messages[1].Body) != "a1" {
		t.Fatalf("first receive: %+v %v", out, err)
	}
	if a := out.Messages[0].Attributes; a["MessageGroupId"] != "A" || a["MessageDeduplicationId"] != "a0" || a["SequenceNumber"] == "" {
		t.Fatalf("FIFO system attributes %v", a)
	}
	// Group A is blocked while a0 and a1 are in flight: only B is available.
	out2, err := c.ReceiveMessage(sqsCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil || len(out2.Messages) != 1 || aws.ToString(out2.Messages[0].Body) != "b0" {
		t.Fatalf("second receive: %+v %v", out2, err)
	}
	for _, m := range out.Messages {
		if _, err := c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	ms := sqsReceiveN(t, c, url, 2, sqs.ReceiveMessageInput{})
	if aws.ToString(ms[0].Body) != "a2" || aws.ToString(ms[1].Body) != "a3" {
		t.Fatalf("after delete: %q %q", aws.ToString(ms[0].Body), aws.ToString(ms[1].Body))
	}
	// FIFO rules.
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("x")})
	wantSQSCode(t, err, "MissingParameter")
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	wantSQSCode(t, err, "InvalidParameterValue") // no dedup id and no content-based deduplication
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d"), DelaySeconds: 5})
	wantSQSCode(t, err, "InvalidParameterValue")
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("plain.fifo")})
	wantSQSCode(t, err, "InvalidParameterValue")
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("plain"), Attributes: map[string]string{"FifoQueue": "true"}})
	wantSQSCode(t, err, "InvalidParameterValue")
}

func TestSQSFIFODeduplication(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "dedup.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	first := sqsFIFOSend(t, c, url, "same body", "g", "")
	dup := sqsFIFOSend(t, c, url, "same body", "g", "")
	if aws.ToString(dup.MessageId) != aws.ToString(first.MessageId) || aws.ToString(dup.SequenceNumber) != aws.ToString(first.SequenceNumber) {
		t.Fatalf("duplicate got MessageId %s, original %s", aws.ToString(dup.MessageId), aws.ToString(first.MessageId))
	}
	explicit := sqsFIFOSend(t, c, url, "other body", "g", "id-1")
	m := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{MaxNumberOfMessages: 1})[0]
	if _, err := c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// Deduplication survives deletion within the 5-minute window.
	again := sqsFIFOSend(t, c, url, "same body", "g", "")
	if aws.ToString(again.MessageId) != aws.ToString(first.MessageId) {
		t.Fatal("a deleted message's duplicate was accepted")
	}
	if got := sqsFIFOSend(t, c, url, "changed", "g", "id-1"); aws.ToString(got.MessageId) != aws.ToString(explicit.MessageId) {
		t.Fatal("explicit deduplication id not honoured")
	}
	if n := sqsQueueAttr(t, c, url, "ApproximateNumberOfMessages"); n != "1" {
		t.Fatalf("queue holds %s messages, want 1", n)
	}
	// High-throughput mode: deduplication per message group.
	ht := sqsCreate(t, c, "ht.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup",
		"FifoThroughputLimit": "perMessageGroupId"})
	a := sqsFIFOSend(t, c, ht, "x", "g1", "same")
	b := sqsFIFOSend(t, c, ht, "x", "g2", "same")
	if aws.ToString(a.MessageId) == aws.ToString(b.MessageId) {
		t.Fatal("same dedup id in two groups deduplicated under messageGroup scope")
	}
	if got := sqsQueueAttr(t, c, ht, "FifoThroughputLimit"); got != "perMessageGroupId" {
		t.Fatalf("FifoThroughputLimit = %q", got)
	}
	_, err := c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("bad.fifo"),
		Attributes: map[string]string{"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"}})
	wantSQSCode(t, err, "InvalidAttributeValue")
}

func TestSQSFIFOReceiveRequestAttemptID(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "attempt.fifo", map[string]string{"FifoQueue": "true"})
	sqsFIFOSend(t, c, url, "one", "g", "1")
	sqsFIFOSend(t, c, url, "two", "h", "2")
	in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1, ReceiveRequestAttemptId: aws.String("try-1")}
	a, err := c.ReceiveMessage(sqsCtx(t), in)
	if err != nil || len(a.Messages) != 1 {
		t.Fatal(err)
	}
	b, err := c.ReceiveMessage(sqsCtx(t), in) // a retry: same messages, same handles
	if err != nil || len(b.Messages) != 1 || aws.ToString(b.Messages[0].ReceiptHandle) != aws.ToString(a.Messages[0].ReceiptHandle) {
		t.Fatalf("retry got %+v", b.Messages)
	}
	in.ReceiveRequestAttemptId = aws.String("try-2")
	d, err := c.ReceiveMessage(sqsCtx(t), in)
	if err != nil || len(d.Messages) != 1 || aws.ToString(d.Messages[0].Body) == aws.ToString(a.Messages[0].Body) {
		t.Fatalf("new attempt got %+v", d.Messages)
	}
}
