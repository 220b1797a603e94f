package conformance

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mqgate/mqgate/gateway"
)

// sqsTenants configures a second vhost "tenant" with user "ten" reached
// through key AKTEN, and a user "reader" who may only read.
func sqsTenants(cfg *gateway.Config) {
	cfg.VHosts = append(cfg.VHosts, "tenant")
	cfg.Users = append(cfg.Users, gateway.UserConfig{Name: "ten", Password: "p"}, gateway.UserConfig{Name: "reader", Password: "p"})
	cfg.Permissions = append(cfg.Permissions,
		gateway.PermissionConfig{User: "ten", VHost: "tenant", Configure: ".*", Write: ".*", Read: ".*"},
		gateway.PermissionConfig{User: "reader", VHost: "/", Configure: "^$", Write: "^$", Read: ".*"})
	cfg.SQS.AccessKeys = append(cfg.SQS.AccessKeys,
		gateway.AccessKeyConfig{AccessKeyID: "AKTEN", SecretAccessKey: "tensecret", User: "ten", VHost: "tenant"},
		gateway.AccessKeyConfig{AccessKeyID: "AKREAD", SecretAccessKey: "readsecret", User: "reader", VHost: "/"})
}

func TestSQSSignatures(t *testing.T) {
	s := sqsServer(t, sqsTenants)
	good := sqsClient(t, s)
	sqsCreate(t, good, "shared", nil)

	_, err := sqsClientWith(t, s, "test", "wrong").ListQueues(sqsCtx(t), &sqs.ListQueuesInput{})
	wantSQSCode(t, err, "SignatureDoesNotMatch")
	_, err = sqsClientWith(t, s, "nobody", "x").ListQueues(sqsCtx(t), &sqs.ListQueuesInput{})
	wantSQSCode(t, err, "InvalidClientTokenId")
	// A client whose clock is 20 minutes off.
	skewed := sqsClientWith(t, s, "test", "test", func(o *sqs.Options) {
		o.HTTPSignerV4 = sqsSkewSigner{v4.NewSigner(), 20 * time.Minute}
	})
	_, err = skewed.ListQueues(sqsCtx(t), &sqs.ListQueuesInput{})
	wantSQSCode(t, err, "RequestExpired")

	// Keys map to vhosts: the tenant sees only its own queues.
	ten := sqsClientWith(t, s, "AKTEN", "tensecret")
	sqsCreate(t, ten, "mine", nil)
	l, err := ten.ListQueues(sqsCtx(t), &sqs.ListQueuesInput{})
	if err != nil || len(l.QueueUrls) != 1 {
		t.Fatalf("tenant ListQueues: %v %v", l, err)
	}
	_, err = ten.GetQueueUrl(sqsCtx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("shared")})
	wantSQSCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	// Core permissions apply: reader may receive but not create or send.
	reader := sqsClientWith(t, s, "AKREAD", "readsecret")
	_, err = reader.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("nope")})
	wantSQSCode(t, err, "AccessDenied")
	url := sqsCreate(t, good, "readable", nil)
	_, err = reader.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	wantSQSCode(t, err, "AccessDenied")
	sqsSend(t, good, url, "for the reader")
	if ms := sqsReceiveN(t, reader, url, 1, sqs.ReceiveMessageInput{}); aws.ToString(ms[0].Body) != "for the reader" {
		t.Fatalf("reader received %v", ms)
	}
}

func TestSQSPermissiveMode(t *testing.T) {
	s := sqsServer(t, func(cfg *gateway.Config) { cfg.SQS.Permissive = true })
	c := sqsClientWith(t, s, "anything", "at all")
	url := sqsCreate(t, c, "open", nil)
	sqsSend(t, c, url, "x")
	// Unsigned requests are served too.
	resp, err := http.Post("http://"+s.addr("http_api")+"/?Action=ListQueues", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unsigned request: %d", resp.StatusCode)
	}
}

// sqsSkewSigner signs as a client whose clock is off by skew.
type sqsSkewSigner struct {
	s    *v4.Signer
	skew time.Duration
}

func (k sqsSkewSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	t time.Time, opts ...func(*v4.SignerOptions)) error {
	return k.s.SignHTTP(ctx, creds, r, payloadHash, service, region, t.Add(-k.skew), opts...)
}
