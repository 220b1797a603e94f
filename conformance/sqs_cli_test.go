package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awsCLIs finds the aws CLIs to drive: Debian's (/usr/bin/aws, whose
// botocore predates SQS's JSON switch, so it speaks Query) and any other on
// PATH (a current one speaks JSON).
func awsCLIs() []string {
	var out []string
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		out = append(out, "/usr/bin/aws")
	}
	if p, err := exec.LookPath("aws"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil && r != "/usr/bin/aws" && p != "/usr/bin/aws" {
			out = append(out, p)
		}
	}
	return out
}

type awsCLI struct {
	t        *testing.T
	bin      string
	endpoint string
	env      []string
}

// run runs one aws command and decodes its JSON output into v (if not nil).
func (c *awsCLI) run(v any, args ...string) {
	c.t.Helper()
	out, errOut, err := c.exec(args...)
	if err != nil {
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("aws %s: output %q: %v", strings.Join(args, " "), out, err)
		}
	}
}

// fail runs a command that must fail with code in its error output.
func (c *awsCLI) fail(code string, args ...string) {
	c.t.Helper()
	_, errOut, err := c.exec(args...)
	if err == nil || !strings.Contains(string(errOut), code) {
		c.t.Fatalf("aws %s: %v, stderr %q, want error %s", strings.Join(args, " "), err, errOut, code)
	}
}

func (c *awsCLI) exec(args ...string) ([]byte, []byte, error) {
	cmd := exec.Command(c.bin, append([]string{"--endpoint-url", c.endpoint, "--output", "json", "sqs"}, args...)...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// TestSQSAWSCLI scripts the aws CLI against the gateway: every CLI found, so
// both the Query protocol (Debian's awscli) and JSON (a current CLI).
func TestSQSAWSCLI(t *testing.T) {
	bins := awsCLIs()
	if len(bins) == 0 {
		t.Skip("the aws CLI is not installed (Debian package awscli; .ci/run installs it)")
	}
	s := sqsServer(t, nil)
	for i, bin := range bins {
		t.Run(filepath.Base(filepath.Dir(bin))+"-"+string(rune('a'+i)), func(t *testing.T) {
			home := t.TempDir()
			c := &awsCLI{t: t, bin: bin, endpoint: "http://" + s.addr("http_api"), env: []string{
				"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
				"AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=", "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
				"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"), "AWS_MAX_ATTEMPTS=1"}}
			q := "cli-" + string(rune('a'+i))
			var created struct{ QueueUrl string }
			c.run(&created, "create-queue", "--queue-name", q, "--attributes", "VisibilityTimeout=40", "--tags", "team=x")
			if !strings.HasSuffix(created.QueueUrl, "/000000000000/"+q) {
				t.Fatalf("QueueUrl %s", created.QueueUrl)
			}
			var sent struct{ MD5OfMessageBody, MD5OfMessageAttributes, MessageId string }
			c.run(&sent, "send-message", "--queue-url", created.QueueUrl, "--message-body", "hello",
				"--message-attributes", `{"foo":{"DataType":"String","StringValue":"bar"}}`)
			if sent.MD5OfMessageBody != "5d41402abc4b2a76b9719d911017c592" || sent.MD5OfMessageAttributes != "d8062e30406ad939a86bacea477e5a26" {
				t.Fatalf("send-message: %+v", sent)
			}
			var batch struct{ Successful, Failed []map[string]any }
			c.run(&batch, "send-message-batch", "--queue-url", created.QueueUrl, "--entries",
				`[{"Id":"a","MessageBody":"line1\r\nline2"},{"Id":"b","MessageBody":"x","DelaySeconds":901}]`)
			if len(batch.Successful) != 1 || len(batch.Failed) != 1 {
				t.Fatalf("send-message-batch: %+v", batch)
			}
			var recv struct {
				Messages []struct {
					Body, ReceiptHandle, MessageId string
					Attributes                     map[string]string
					MessageAttributes              map[string]struct{ StringValue, DataType string }
				}
			}
			c.run(&recv, "receive-message", "--queue-url", created.QueueUrl, "--max-number-of-messages", "10",
				"--attribute-names", "All", "--message-attribute-names", "All", "--wait-time-seconds", "1")
			if len(recv.Messages) != 2 || recv.Messages[0].Body != "hello" || recv.Messages[1].Body != "line1\r\nline2" ||
				recv.Messages[0].MessageAttributes["foo"].StringValue != "bar" || recv.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
				t.Fatalf("receive-message: %+v", recv)
			}
			for _, m := range recv.Messages {
				c.run(nil, "delete-message", "--queue-url", created.QueueUrl, "--receipt-handle", m.ReceiptHandle)
			}
			var attrs struct{ Attributes map[string]string }
			c.run(&attrs, "get-queue-attributes", "--queue-url", created.QueueUrl, "--attribute-names", "All")
			if attrs.Attributes["VisibilityTimeout"] != "40" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
				t.Fatalf("get-queue-attributes: %v", attrs.Attributes)
			}
			var tags struct{ Tags map[string]string }
			c.run(&tags, "list-queue-tags", "--queue-url", created.QueueUrl)
			if tags.Tags["team"] != "x" {
				t.Fatalf("list-queue-tags: %v", tags)
			}
			var list struct{ QueueUrls []string }
			c.run(&list, "list-queues", "--queue-name-prefix", q)
			if len(list.QueueUrls) != 1 {
				t.Fatalf("list-queues: %v", list)
			}
			c.fail("NonExistentQueue", "get-queue-url", "--queue-name", "missing-"+q)
			c.fail("ReceiptHandleIsInvalid", "delete-message", "--queue-url", created.QueueUrl, "--receipt-handle", "bogus")
			c.run(nil, "delete-queue", "--queue-url", created.QueueUrl)
		})
	}
}
