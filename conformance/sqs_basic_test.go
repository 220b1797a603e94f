package conformance

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSQSSendReceiveDelete(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "orders", nil)
	if want := "http://" + s.addr("http_api") + "/000000000000/orders"; url != want {
		t.Fatalf("QueueUrl = %s, want %s", url, want)
	}
	body := "hello\r\nworld \"quoted\" <xml> & emoji 😀"
	out, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"foo":   {DataType: aws.String("String"), StringValue: aws.String("bar")},
			"n":     {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"price": {DataType: aws.String("Number.float"), StringValue: aws.String("1.50")},
			"bin":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.MessageId) == "" || aws.ToString(out.MD5OfMessageAttributes) == "" {
		t.Fatalf("SendMessage output %+v", out)
	}
	ms := sqsReceiveN(t, c, url, 1, sqs.ReceiveMessageInput{MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	m := ms[0]
	if aws.ToString(m.Body) != body || aws.ToString(m.MessageId) != aws.ToString(out.MessageId) {
		t.Fatalf("received %q id %s", aws.ToString(m.Body), aws.ToString(m.MessageId))
	}
	if aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(out.MD5OfMessageAttributes) {
		for k, v := range m.MessageAttributes {
			t.Logf("%s %s %q %v", k, aws.ToString(v.DataType), aws.ToString(v.StringValue), v.BinaryValue)
		}
		t.Fatalf("attribute MD5 %s, sent %s", aws.ToString(m.MD5OfMessageAttributes), aws.ToString(out.MD5OfMessageAttributes))
	}
	if got := aws.ToString(m.MessageAttributes["price"].StringValue); got != "1.50" || aws.ToString(m.MessageAttributes["price"].DataType) != "Number.float" {
		t.Fatalf("price attribute %+v", m.MessageAttributes["price"])
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SenderId"] != "test" || m.Attributes["SentTimestamp"] == "" {
		t.Fatalf("system attributes %v", m.Attributes)
	}
	if _, err := c.DeleteMessage(sqsCtx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if n := sqsQueueAttr(t, c, url, "ApproximateNumberOfMessagesNotVisible"); n != "0" {
		t.Fatalf("not visible after delete: %s", n)
	}
}
