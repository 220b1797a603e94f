package sqs

import (
	"encoding/json"
	"slices"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// maxTags is the most tags a queue may carry (AWS: more than 50 is not
// recommended; we refuse them).
const maxTags = 50

func tagTable(tags map[string]string) core.Table {
	t := make(core.Table, len(tags))
	for k, v := range tags {
		t[k] = v
	}
	return t
}

func tagsOf(args core.Table) map[string]string {
	t, _ := args[argTags].(core.Table)
	out := make(map[string]string, len(t))
	for k, v := range t {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func checkTags(tags map[string]string) *awsapi.Error {
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return invalidParam("Tag keys must be 1 to 128 characters and values at most 256: %q.", k)
		}
	}
	return nil
}

// handleTagQueue adds or replaces tags of a queue.
func (s *Server) handleTagQueue(c *call) *awsapi.Error {
	var in tagQueueInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if len(in.Tags) == 0 {
		return missingParam("Tags")
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	return s.updateArgs(c, name, q, func(args core.Table) *awsapi.Error {
		tags := tagsOf(args)
		for k, v := range in.Tags {
			tags[k] = v
		}
		if len(tags) > maxTags {
			return invalidParam("Too many tags: a queue may have at most %d.", maxTags)
		}
		args[argTags] = tagTable(tags)
		return nil
	})
}

// handleUntagQueue removes tags of a queue.
func (s *Server) handleUntagQueue(c *call) *awsapi.Error {
	var in untagQueueInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if len(in.TagKeys) == 0 {
		return missingParam("TagKeys")
	}
	return s.updateArgs(c, name, q, func(args core.Table) *awsapi.Error {
		tags := tagsOf(args)
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		if len(tags) == 0 {
			delete(args, argTags)
		} else {
			args[argTags] = tagTable(tags)
		}
		return nil
	})
}

// handleListQueueTags lists a queue's tags.
func (s *Server) handleListQueueTags(c *call) *awsapi.Error {
	var in queueURLInput
	if err := c.decode(&in); err != nil {
		return err
	}
	_, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	tags := tagsOf(q.Info().Args)
	c.w.Begin("ListQueueTags", true)
	if len(tags) > 0 {
		c.w.StrMap("Tags", "Tag", "Key", "Value", tags)
	}
	return nil
}

// The queue policy is stored, not enforced: permissions come from the
// broker's users (README). AddPermission and RemovePermission edit its
// statements as SQS does, one statement per label.

type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal"`
	Action    any            `json:"Action"`
	Resource  string         `json:"Resource"`
}

// validActions are the actions AddPermission may grant.
var validActions = []string{"*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
	"GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags",
	"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"}

// handleAddPermission adds a statement to the queue's policy.
func (s *Server) handleAddPermission(c *call) *awsapi.Error {
	var in addPermissionInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	switch {
	case in.Label == "":
		return missingParam("Label")
	case len(in.AWSAccountIDs) == 0:
		return missingParam("AWSAccountId.N")
	case len(in.Actions) == 0:
		return missingParam("ActionName.N")
	case !validBatchID(in.Label):
		return invalidParam("Value %s for parameter Label is invalid. Reason: Can only include alphanumeric "+
			"characters, hyphens, or underscores. 1 to 80 in length.", in.Label)
	}
	actions := make([]string, len(in.Actions))
	for i, a := range in.Actions {
		if !slices.Contains(validActions, a) {
			return invalidParam("Value SQS:%s for parameter ActionName is invalid. Reason: Only the queue owner is "+
				"allowed to invoke this action.", a)
		}
		actions[i] = "SQS:" + a
	}
	principals := make([]any, len(in.AWSAccountIDs))
	for i, a := range in.AWSAccountIDs {
		principals[i] = "arn:aws:iam::" + a + ":root"
	}
	return s.updateArgs(c, name, q, func(args core.Table) *awsapi.Error {
		doc := policyOf(args, s.queueARN(name))
		for _, st := range doc.Statement {
			if st.Sid == in.Label {
				return invalidParam("Value %s for parameter Label is invalid. Reason: Already exists.", in.Label)
			}
		}
		var action any = actions
		if len(actions) == 1 {
			action = actions[0]
		}
		var principal any = principals
		if len(principals) == 1 {
			principal = principals[0]
		}
		doc.Statement = append(doc.Statement, policyStatement{Sid: in.Label, Effect: "Allow",
			Principal: map[string]any{"AWS": principal}, Action: action, Resource: s.queueARN(name)})
		b, _ := json.Marshal(doc)
		args[argPolicy] = string(b)
		return nil
	})
}

// handleRemovePermission removes the statement of a label.
func (s *Server) handleRemovePermission(c *call) *awsapi.Error {
	var in removePermissionInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if in.Label == "" {
		return missingParam("Label")
	}
	return s.updateArgs(c, name, q, func(args core.Table) *awsapi.Error {
		doc := policyOf(args, s.queueARN(name))
		i := slices.IndexFunc(doc.Statement, func(st policyStatement) bool { return st.Sid == in.Label })
		if i < 0 {
			return invalidParam("Value %s for parameter Label is invalid. Reason: can't find label on existing policy.", in.Label)
		}
		doc.Statement = slices.Delete(doc.Statement, i, i+1)
		if len(doc.Statement) == 0 {
			delete(args, argPolicy)
			return nil
		}
		b, _ := json.Marshal(doc)
		args[argPolicy] = string(b)
		return nil
	})
}

func policyOf(args core.Table, arn string) policyDoc {
	var doc policyDoc
	if p, ok := argStr(args, argPolicy); ok {
		_ = json.Unmarshal([]byte(p), &doc)
	}
	if doc.Version == "" {
		doc.Version = "2012-10-17"
		doc.ID = arn + "/SQSDefaultPolicy"
	}
	return doc
}
