package conformance

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/mqgate/mqgate/gateway"
)

// sqsServer starts a gateway for SQS tests with the doors they use (the SQS
// API, and AMQP for the cross-protocol tests); edit may change its config.
func sqsServer(t *testing.T, edit func(*gateway.Config)) *server {
	t.Helper()
	return startServer(t, options{edit: func(cfg *gateway.Config) {
		for _, l := range []*gateway.ListenerConfig{&cfg.Listeners.MQTT, &cfg.Listeners.STOMP, &cfg.Listeners.WebSTOMP,
			&cfg.Listeners.WebMQTT, &cfg.Listeners.Management} {
			l.Enabled = false
		}
		if edit != nil {
			edit(cfg)
		}
	}})
}

// sqsClientWith returns an SDK client for s signing with the given key.
func sqsClientWith(t testing.TB, s *server, akid, secret string, opts ...func(*sqs.Options)) *sqs.Client {
	t.Helper()
	return sqsClientAt(t, s.addr("http_api"), akid, secret, opts...)
}

// sqsClientAt returns an SDK client for the API at addr.
func sqsClientAt(t testing.TB, addr, akid, secret string, opts ...func(*sqs.Options)) *sqs.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	hc := &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		HTTPClient:       hc,
		BaseEndpoint:     aws.String("http://" + addr),
		RetryMaxAttempts: 1,
	}
	return sqs.NewFromConfig(cfg, opts...)
}

// sqsClient returns an SDK client for s with the default key test/test.
func sqsClient(t *testing.T, s *server) *sqs.Client {
	return sqsClientWith(t, s, "test", "test")
}

func sqsCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// createQueue creates a queue and returns its URL.
func sqsCreate(t testing.TB, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// apiCode returns the error code of an SDK error ("" for none).
func sqsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wantCode fails unless err is an API error with code.
func wantSQSCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want error %s", code)
	}
	if got := sqsCode(err); got != code {
		t.Fatalf("error %v (code %q), want code %s", err, got, code)
	}
}

// queueAttr reads one attribute of a queue.
func sqsQueueAttr(t *testing.T, c *sqs.Client, url, name string) string {
	t.Helper()
	out, err := c.GetQueueAttributes(sqsCtx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeName(name)}})
	if err != nil {
		t.Fatalf("GetQueueAttributes %s: %v", name, err)
	}
	return out.Attributes[name]
}

// receiveN receives until n messages arrived (long polling), failing after
// the deadline.
func sqsReceiveN(t *testing.T, c *sqs.Client, url string, n int, in sqs.ReceiveMessageInput) []types.Message {
	t.Helper()
	in.QueueUrl = aws.String(url)
	if in.MaxNumberOfMessages == 0 {
		in.MaxNumberOfMessages = 10
	}
	if in.WaitTimeSeconds == 0 {
		in.WaitTimeSeconds = 1
	}
	var got []types.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages", len(got), n)
		}
		out, err := c.ReceiveMessage(sqsCtx(t), &in)
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		got = append(got, out.Messages...)
	}
	return got
}

func sqsAs(err error, target any) bool { return errors.As(err, target) }

// send sends one message and returns its id.
func sqsSend(t testing.TB, c *sqs.Client, url, body string) string {
	t.Helper()
	out, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return aws.ToString(out.MessageId)
}
