package conformance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mqgate/mqgate/gateway"
)

func TestSQSCreateQueueIdempotency(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	attrs := map[string]string{"VisibilityTimeout": "40", "DelaySeconds": "0"}
	u1 := sqsCreate(t, c, "idem", attrs)
	u2 := sqsCreate(t, c, "idem", attrs)
	if u1 != u2 {
		t.Fatalf("URLs differ: %s %s", u1, u2)
	}
	if u3 := sqsCreate(t, c, "idem", nil); u3 != u1 {
		t.Fatalf("CreateQueue without attributes: %s", u3)
	}
	_, err := c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("idem"),
		Attributes: map[string]string{"VisibilityTimeout": "41"}})
	wantSQSCode(t, err, "QueueAlreadyExists")
	var qne *types.QueueNameExists
	if !sqsAs(err, &qne) {
		t.Fatalf("error %T is not types.QueueNameExists", err)
	}
	for _, bad := range []string{"has space", "dot.ted", strings.Repeat("x", 81), "", "nofifo.fifo"} {
		_, err := c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String(bad)})
		if code := sqsCode(err); code != "InvalidParameterValue" && code != "MissingParameter" {
			t.Errorf("CreateQueue(%q): %v", bad, err)
		}
	}
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("x"),
		Attributes: map[string]string{"VisibilityTimeout": "43201"}})
	wantSQSCode(t, err, "InvalidAttributeValue")
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("x"),
		Attributes: map[string]string{"Bogus": "1"}})
	wantSQSCode(t, err, "InvalidAttributeName")
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("x"),
		Attributes: map[string]string{"ContentBasedDeduplication": "true"}})
	wantSQSCode(t, err, "InvalidAttributeName")
}

func TestSQSGetQueueURLAndList(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	for _, n := range []string{"a-1", "a-2", "a-3", "b-1", "a-4.fifo"} {
		attrs := map[string]string(nil)
		if strings.HasSuffix(n, ".fifo") {
			attrs = map[string]string{"FifoQueue": "true"}
		}
		sqsCreate(t, c, n, attrs)
	}
	out, err := c.GetQueueUrl(sqsCtx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("a-2")})
	if err != nil || !strings.HasSuffix(aws.ToString(out.QueueUrl), "/000000000000/a-2") {
		t.Fatalf("GetQueueUrl: %v %v", out, err)
	}
	_, err = c.GetQueueUrl(sqsCtx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("none")})
	wantSQSCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	var qdne *types.QueueDoesNotExist
	if !sqsAs(err, &qdne) {
		t.Fatalf("error %T is not types.QueueDoesNotExist", err)
	}
	all, err := c.ListQueues(sqsCtx(t), &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 5 || all.NextToken != nil {
		t.Fatalf("ListQueues: %v %v", all, err)
	}
	// Pagination with a prefix, through the SDK's paginator.
	var names []string
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("a-"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(sqsCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.QueueUrls {
			names = append(names, u[strings.LastIndex(u, "/")+1:])
		}
	}
	if strings.Join(names, ",") != "a-1,a-2,a-3,a-4.fifo" || pages != 2 {
		t.Fatalf("paginated %v in %d pages", names, pages)
	}
	_, err = c.ListQueues(sqsCtx(t), &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	wantSQSCode(t, err, "InvalidParameterValue")
}

func TestSQSQueueAttributes(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "attrs", nil)
	out, err := c.GetQueueAttributes(sqsCtx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"VisibilityTimeout": "30", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
		"DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0", "ApproximateNumberOfMessages": "0",
		"ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
		"QueueArn": "arn:aws:sqs:us-east-1:000000000000:attrs", "SqsManagedSseEnabled": "true"}
	for k, v := range want {
		if out.Attributes[k] != v {
			t.Errorf("%s = %q, want %q", k, out.Attributes[k], v)
		}
	}
	for _, k := range []string{"CreatedTimestamp", "LastModifiedTimestamp"} {
		if len(out.Attributes[k]) != 10 { // epoch seconds
			t.Errorf("%s = %q", k, out.Attributes[k])
		}
	}
	if _, ok := out.Attributes["FifoQueue"]; ok {
		t.Error("standard queue reports FifoQueue")
	}
	set := map[string]string{"VisibilityTimeout": "5", "MaximumMessageSize": "2048", "MessageRetentionPeriod": "60",
		"DelaySeconds": "2", "ReceiveMessageWaitTimeSeconds": "3", "KmsMasterKeyId": "alias/k",
		"KmsDataKeyReusePeriodSeconds": "600", "SqsManagedSseEnabled": "false",
		"Policy": `{"Version":"2012-10-17","Statement":[]}`}
	if _, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: set}); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if got := sqsQueueAttr(t, c, url, k); got != v {
			t.Errorf("after set, %s = %q, want %q", k, got, v)
		}
	}
	for _, bad := range []map[string]string{{"DelaySeconds": "901"}, {"MaximumMessageSize": "1023"},
		{"MessageRetentionPeriod": "59"}, {"ReceiveMessageWaitTimeSeconds": "21"}, {"VisibilityTimeout": "-1"},
		{"Policy": "not json"}} {
		_, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: bad})
		wantSQSCode(t, err, "InvalidAttributeValue")
	}
	for _, bad := range []map[string]string{{"QueueArn": "x"}, {"FifoQueue": "true"}, {"Nope": "1"}} {
		_, err := c.SetQueueAttributes(sqsCtx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: bad})
		wantSQSCode(t, err, "InvalidAttributeName")
	}
	_, err = c.GetQueueAttributes(sqsCtx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{"Nope"}})
	wantSQSCode(t, err, "InvalidAttributeName")
	// The new MaximumMessageSize applies.
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", 2049))})
	wantSQSCode(t, err, "InvalidParameterValue")
	// Settings persist with the queue across a restart.
	durable := sqsServer(t, func(cfg *gateway.Config) { cfg.Storage = gateway.StorageDurable; cfg.DataDir = t.TempDir() })
	dc := sqsClient(t, durable)
	durl := sqsCreate(t, dc, "kept", map[string]string{"VisibilityTimeout": "77"})
	if _, err := dc.TagQueue(sqsCtx(t), &sqs.TagQueueInput{QueueUrl: aws.String(durl), Tags: map[string]string{"team": "x"}}); err != nil {
		t.Fatal(err)
	}
	durable.restart()
	dc = sqsClient(t, durable)
	durl = strings.Replace(durl, durl[:strings.Index(durl, "/000000000000")], "http://"+durable.addr("http_api"), 1)
	if got := sqsQueueAttr(t, dc, durl, "VisibilityTimeout"); got != "77" {
		t.Fatalf("VisibilityTimeout after restart = %q", got)
	}
	tags, err := dc.ListQueueTags(sqsCtx(t), &sqs.ListQueueTagsInput{QueueUrl: aws.String(durl)})
	if err != nil || tags.Tags["team"] != "x" {
		t.Fatalf("tags after restart: %v %v", tags, err)
	}
}

func TestSQSDeleteAndPurge(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "gone", nil)
	sqsSend(t, c, url, "m")
	if _, err := c.PurgeQueue(sqsCtx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	if n := sqsQueueAttr(t, c, url, "ApproximateNumberOfMessages"); n != "0" {
		t.Fatalf("after purge: %s messages", n)
	}
	_, err := c.PurgeQueue(sqsCtx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
	wantSQSCode(t, err, "AWS.SimpleQueueService.PurgeQueueInProgress")
	if _, err := c.DeleteQueue(sqsCtx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteQueue(sqsCtx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	wantSQSCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	wantSQSCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("gone")})
	wantSQSCode(t, err, "AWS.SimpleQueueService.QueueDeletedRecently")

	// Both 60-second rules can be switched off.
	lax := sqsServer(t, func(cfg *gateway.Config) {
		cfg.SQS.EnforcePurgeInterval, cfg.SQS.EnforceRecreateDelay = false, false
	})
	lc := sqsClient(t, lax)
	u := sqsCreate(t, lc, "again", nil)
	for i := 0; i < 2; i++ {
		if _, err := lc.PurgeQueue(sqsCtx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lc.DeleteQueue(sqsCtx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
		t.Fatal(err)
	}
	sqsCreate(t, lc, "again", nil)
}

func TestSQSTagsAndPermissions(t *testing.T) {
	s := sqsServer(t, nil)
	c := sqsClient(t, s)
	out, err := c.CreateQueue(sqsCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	url := out.QueueUrl
	if _, err := c.TagQueue(sqsCtx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"team": "a", "env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagQueue(sqsCtx(t), &sqs.UntagQueueInput{QueueUrl: url, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(sqsCtx(t), &sqs.ListQueueTagsInput{QueueUrl: url})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "prod" {
		t.Fatalf("tags %v %v", tags, err)
	}
	_, err = c.TagQueue(sqsCtx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{}})
	wantSQSCode(t, err, "MissingParameter")

	if _, err := c.AddPermission(sqsCtx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("p1"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage", "ReceiveMessage"}}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Sid    string
			Action any
		}
	}
	if err := json.Unmarshal([]byte(sqsQueueAttr(t, c, aws.ToString(url), "Policy")), &doc); err != nil ||
		len(doc.Statement) != 1 || doc.Statement[0].Sid != "p1" {
		t.Fatalf("policy %+v %v", doc, err)
	}
	_, err = c.AddPermission(sqsCtx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("p1"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}})
	wantSQSCode(t, err, "InvalidParameterValue")
	if _, err := c.RemovePermission(sqsCtx(t), &sqs.RemovePermissionInput{QueueUrl: url, Label: aws.String("p1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RemovePermission(sqsCtx(t), &sqs.RemovePermissionInput{QueueUrl: url, Label: aws.String("p1")})
	wantSQSCode(t, err, "InvalidParameterValue")
	if p := sqsQueueAttr(t, c, aws.ToString(url), "Policy"); p != "" {
		t.Fatalf("policy left: %s", p)
	}
}

func TestSQSQueueURLHosts(t *testing.T) {
	s := sqsServer(t, func(cfg *gateway.Config) { cfg.SQS.Host = "sqs.example.test:9324" })
	c := sqsClient(t, s)
	url := sqsCreate(t, c, "hosted", nil)
	if url != "http://sqs.example.test:9324/000000000000/hosted" {
		t.Fatalf("QueueUrl %s", url)
	}
	// Any host is accepted in a QueueUrl: the path names the queue.
	for _, u := range []string{url, "https://sqs.us-east-1.amazonaws.com/000000000000/hosted", "http://localhost/queue/hosted"} {
		if _, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")}); err != nil {
			t.Fatalf("SendMessage via %s: %v", u, err)
		}
	}
	_, err := c.SendMessage(sqsCtx(t), &sqs.SendMessageInput{QueueUrl: aws.String("http://h/123456789012/hosted"), MessageBody: aws.String("x")})
	wantSQSCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
}
