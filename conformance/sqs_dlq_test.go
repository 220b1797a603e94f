package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// failReceives receives the message of url n times, each time making it
// visible again at once, as a consumer that keeps failing.
func sqsFailReceives(t *testing.T, c *sqs.Client, url string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		m := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{MaxNumberOfMessages: 1})[0]
		if _, err := c.ChangeMessageVisibility(sqsCtx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}
}

func sqsRedrive(dlqARN string, n string) string {
	return `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":` + n + `}`
}

func TestSQSDeadLetterQueue(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	dlq := sqsCreate(t, c, "dlq", nil)
	dlqARN := sqsQueueAttr(t, c, dlq, "QueueArn")
	src := sqsCreate(t, c, "src", map[string]string{"RedrivePolicy": sqsRedrive(dlqARN, `"2"`)})
	if got := sqsQueueAttr(t, c, src, "RedrivePolicy"); got != sqsRedrive(dlqARN, "2") {
		t.Fatalf("RedrivePolicy = %s", got)
	}
	id := sqsSend(t, c, src, "poison")
	sqsFailReceives(t, c, src, 2)
	// The third receive finds it gone: moved to the DLQ.
	m := sqsReceiveN(t, c, dlq, 1, sqs.ReceiveMessageInput{MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
		MessageAttributeNames: []string{"All"}})[0]
	if aws.ToString(m.MessageId) != id || aws.ToString(m.Body) != "poison" || m.Attributes["DeadLetterQueueSourceArn"] != sqsQueueAttr(t, c, src, "QueueArn") {
		t.Fatalf("DLQ message %+v", m)
	}
	if len(m.MessageAttributes) != 0 {
		t.Fatalf("dead-lettering history shown as attributes: %v", m.MessageAttributes)
	}
	if n := sqsQueueAttr(t, c, src, "ApproximateNumberOfMessages"); n != "0" {
		t.Fatalf("source still holds %s", n)
	}
	srcs, err := c.ListDeadLetterSourceQueues(sqsCtx(t), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)})
	if err != nil || len(srcs.QueueUrls) != 1 || srcs.QueueUrls[0] != src {
		t.Fatalf("ListDeadLetterSourceQueues: %v %v", srcs, err)
	}
	// Set later, changed and removed with SetQueueAttributes.
	late := sqsCreate(t, c, "late", nil)
	if _, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(late),
		Attributes: map[string]string{"RedrivePolicy": sqsRedrive(dlqARN, "1")}}); err != nil {
		t.Fatal(err)
	}
	sqsSend(t, c, late, "once")
	sqsFailReceives(t, c, late, 1)
	sqsReceiveN(t, c, dlq, 1, sqs.ReceiveMessageInput{})
	if _, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(late),
		Attributes: map[string]string{"RedrivePolicy": ""}}); err != nil {
		t.Fatal(err)
	}
	sqsSend(t, c, late, "kept")
	sqsFailReceives(t, c, late, 3)
	if n := sqsQueueAttr(t, c, late, "ApproximateNumberOfMessages"); n != "1" {
		t.Fatalf("without a redrive policy the message should stay: %s", n)
	}
	// Errors.
	fifoDLQ := sqsCreate(t, c, "dlq.fifo", map[string]string{"FifoQueue": "true"})
	for _, bad := range []string{
		sqsRedrive(dlqARN, "0"),
		sqsRedrive(dlqARN, "1001"),
		sqsRedrive("arn:aws:sqs:us-east-1:000000000000:missing", "3"),
		sqsRedrive(sqsQueueAttr(t, c, fifoDLQ, "QueueArn"), "3"), // type mismatch
		"{not json",
	} {
		_, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(late),
			Attributes: map[string]string{"RedrivePolicy": bad}})
		wantSQSCode(t, err, "InvalidParameterValue")
	}
}

func TestSQSRedriveAllowPolicy(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	dlq := sqsCreate(t, c, "guarded-dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`})
	dlqARN := sqsQueueAttr(t, c, dlq, "QueueArn")
	_, err := c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("refused"),
		Attributes: map[string]string{"RedrivePolicy": sqsRedrive(dlqARN, "3")}})
	wantSQSCode(t, err, "InvalidParameterValue")
	allowed := "arn:aws:sqs:us-east-1:000000000000:allowed"
	if _, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(dlq),
		Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue","sourceQueueArns":["` + allowed + `"]}`}}); err != nil {
		t.Fatal(err)
	}
	sqsCreate(t, c, "allowed", map[string]string{"RedrivePolicy": sqsRedrive(dlqARN, "3")})
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("stranger"),
		Attributes: map[string]string{"RedrivePolicy": sqsRedrive(dlqARN, "3")}})
	wantSQSCode(t, err, "InvalidParameterValue")
	for _, bad := range []string{`{"redrivePermission":"sometimes"}`, `{"redrivePermission":"byQueue"}`,
		`{"redrivePermission":"allowAll","sourceQueueArns":["x"]}`} {
		_, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(dlq),
			Attributes: map[string]string{"RedriveAllowPolicy": bad}})
		wantSQSCode(t, err, "InvalidParameterValue")
	}
}

func TestSQSMessageMoveTasks(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	dlq := sqsCreate(t, c, "mv-dlq", nil)
	dlqARN := sqsQueueAttr(t, c, dlq, "QueueArn")
	src := sqsCreate(t, c, "mv-src", map[string]string{"RedrivePolicy": sqsRedrive(dlqARN, "1")})
	for _, b := range []string{"m1", "m2", "m3"} {
		sqsSend(t, c, src, b)
	}
	sqsFailReceives(t, c, src, 3)
	waitFor(t, 5*time.Second, "3 messages in the DLQ", func() bool { return sqsQueueAttr(t, c, dlq, "ApproximateNumberOfMessages") == "3" })

	_, err := c.StartMessageMoveTask(sqsCtx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(sqsQueueAttr(t, c, src, "QueueArn"))})
	wantSQSCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation") // not a DLQ
	_, err = c.StartMessageMoveTask(sqsCtx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")})
	wantSQSCode(t, err, "ResourceNotFoundException")
	_, err = c.StartMessageMoveTask(sqsCtx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), MaxNumberOfMessagesPerSecond: aws.Int32(501)})
	wantSQSCode(t, err, "InvalidParameterValue")

	out, err := c.StartMessageMoveTask(sqsCtx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), MaxNumberOfMessagesPerSecond: aws.Int32(100)})
	if err != nil || aws.ToString(out.TaskHandle) == "" {
		t.Fatalf("StartMessageMoveTask: %v %v", out, err)
	}
	var last types.ListMessageMoveTasksResultEntry
	waitFor(t, 10*time.Second, "the move task to complete", func() bool {
		l, err := c.ListMessageMoveTasks(sqsCtx(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		if err != nil || len(l.Results) != 1 {
			t.Fatalf("ListMessageMoveTasks: %v %v", l, err)
		}
		last = l.Results[0]
		return aws.ToString(last.Status) == "COMPLETED"
	})
	if last.ApproximateNumberOfMessagesMoved != 3 || last.ApproximateNumberOfMessagesToMove == nil ||
		*last.ApproximateNumberOfMessagesToMove != 3 || last.TaskHandle != nil || aws.ToInt32(last.MaxNumberOfMessagesPerSecond) != 100 {
		t.Fatalf("task %+v", last)
	}
	ms := sqsReceiveN(t, c, src, 3, sqs.ReceiveMessageInput{MessageAttributeNames: []string{"All"}})
	var bodies []string
	for _, m := range ms {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	if strings.Join(bodies, ",") != "m1,m2,m3" {
		t.Fatalf("moved back: %v", bodies)
	}
	for _, m := range ms {
		if _, err := c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(src), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CancelMessageMoveTask(sqsCtx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: out.TaskHandle})
	wantSQSCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation") // no longer running
	_, err = c.CancelMessageMoveTask(sqsCtx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("nope")})
	wantSQSCode(t, err, "ResourceNotFoundException")

	// A slow task is cancelled while it runs.
	for i := 0; i < 5; i++ {
		sqsSend(t, c, src, "again")
	}
	sqsFailReceives(t, c, src, 5)
	waitFor(t, 5*time.Second, "messages back in the DLQ", func() bool { return sqsQueueAttr(t, c, dlq, "ApproximateNumberOfMessages") == "5" })
	slow, err := c.StartMessageMoveTask(sqsCtx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartMessageMoveTask(sqsCtx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)})
	wantSQSCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation") // one active task per source
	if _, err := c.CancelMessageMoveTask(sqsCtx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: slow.TaskHandle}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the task to be cancelled", func() bool {
		l, _ := c.ListMessageMoveTasks(sqsCtx(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(10)})
		return len(l.Results) == 2 && aws.ToString(l.Results[0].Status) == "CANCELLED" && aws.ToString(l.Results[1].Status) == "COMPLETED"
	})
}
