package sqs

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// Dead-letter queues map onto core's dead-lettering: every queue SQS creates
// dead-letters to the vhost's internal direct exchange sqs.dead-letter with
// its own name as routing key, and a RedrivePolicy binds the DLQ there with
// the source's name and sets x-delivery-limit to maxReceiveCount-1 (core
// dead-letters a message requeued after more than x-delivery-limit
// deliveries). Changing or removing the policy moves or removes the binding;
// no argument that core reads outside its lock ever changes.

type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

type redriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

func redriveInvalid(v, reason string) *awsapi.Error {
	return invalidParam("Value %s for parameter RedrivePolicy is invalid. Reason: %s", v, reason)
}

func setRedrivePolicy(c *attrContext, args core.Table, v string) *awsapi.Error {
	if v == "" {
		delete(args, argRedrive)
		delete(args, core.ArgDeliveryLimit)
		return nil
	}
	var raw struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return redriveInvalid(v, "Redrive policy is not a valid JSON map.")
	}
	count, err := strconv.Atoi(string(bytes.Trim(raw.MaxReceiveCount, `"`)))
	if err != nil || count < 1 || count > 1000 {
		return redriveInvalid(v, "Invalid value for maxReceiveCount: "+string(raw.MaxReceiveCount)+
			", valid values are from 1 to 1000 both inclusive.")
	}
	dlq, ok := c.s.nameFromARN(raw.DeadLetterTargetArn)
	if !ok {
		return redriveInvalid(v, "Invalid value for deadLetterTargetArn.")
	}
	target := c.vh.Queue(dlq)
	if target == nil {
		return redriveInvalid(v, "Dead letter target does not exist.")
	}
	targetArgs := target.Info().Args
	if metaOf(dlq, targetArgs).fifo != c.fifo {
		return redriveInvalid(v, "Dead-letter queue must be same type of queue as the source.")
	}
	if allow, ok := argStr(targetArgs, argRedriveAllow); ok {
		var p redriveAllowPolicy
		_ = json.Unmarshal([]byte(allow), &p)
		src := c.s.queueARN(c.name)
		if p.RedrivePermission == "denyAll" || (p.RedrivePermission == "byQueue" && !slices.Contains(p.SourceQueueArns, src)) {
			return redriveInvalid(v, "Queue "+raw.DeadLetterTargetArn+" does not allow this queue ("+src+
				") as a source queue (RedriveAllowPolicy).")
		}
	}
	if dlx, _ := argStr(args, core.ArgDLX); dlx != dlxExchange {
		return errInvalidAttributeValue.With("A RedrivePolicy needs a queue created through the SQS API " +
			"(this one has no SQS dead-letter wiring).")
	}
	norm, _ := json.Marshal(redrivePolicy{DeadLetterTargetArn: raw.DeadLetterTargetArn, MaxReceiveCount: count})
	args[argRedrive] = string(norm)
	args[core.ArgDeliveryLimit] = int64(count - 1)
	return nil
}

func setRedriveAllowPolicy(_ *attrContext, args core.Table, v string) *awsapi.Error {
	if v == "" {
		delete(args, argRedriveAllow)
		return nil
	}
	var p redriveAllowPolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return invalidParam("Value %s for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create "+
			"the redrive allow policy, as it's in an unsupported format.", v)
	}
	switch p.RedrivePermission {
	case "allowAll", "denyAll":
		if len(p.SourceQueueArns) > 0 {
			return invalidParam("Value %s for parameter RedriveAllowPolicy is invalid. Reason: sourceQueueArns "+
				"may be given only with redrivePermission byQueue.", v)
		}
	case "byQueue":
		if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > 10 {
			return invalidParam("Value %s for parameter RedriveAllowPolicy is invalid. Reason: byQueue needs 1 to "+
				"10 sourceQueueArns.", v)
		}
	default:
		return invalidParam("Value %s for parameter RedriveAllowPolicy is invalid. Reason: redrivePermission must "+
			"be allowAll, denyAll or byQueue.", v)
	}
	norm, _ := json.Marshal(p)
	args[argRedriveAllow] = string(norm)
	return nil
}

// deadLetterTarget returns the DLQ named by args' RedrivePolicy, or "".
func (s *Server) deadLetterTarget(args core.Table) string {
	v, ok := argStr(args, argRedrive)
	if !ok {
		return ""
	}
	var p redrivePolicy
	if json.Unmarshal([]byte(v), &p) != nil {
		return ""
	}
	name, _ := s.nameFromARN(p.DeadLetterTargetArn)
	return name
}

// syncRedriveBinding moves source's dead-letter binding from the DLQ old to
// new ("" for none).
func syncRedriveBinding(sess *core.Session, source, old, new string) error {
	if old == new {
		if new != "" {
			return sess.Bind(new, dlxExchange, source, nil, false)
		}
		return nil
	}
	if old != "" {
		if err := sess.Unbind(old, dlxExchange, source, nil, false); err != nil && core.CodeOf(err) != core.NotFound {
			return err
		}
	}
	if new != "" {
		return sess.Bind(new, dlxExchange, source, nil, false)
	}
	return nil
}

// deadLetterSources lists the queues of vh whose RedrivePolicy names dlq.
func (s *Server) deadLetterSources(vh *core.VHost, dlq string) []string {
	var out []string
	for _, n := range vh.QueueNames() {
		q := vh.Queue(n)
		if q == nil || !validQueueName(n) {
			continue
		}
		if s.deadLetterTarget(q.Info().Args) == dlq {
			out = append(out, n)
		}
	}
	return out
}

// ensureDeadLetterExchange declares the vhost's sqs.dead-letter exchange once.
func (s *Server) ensureDeadLetterExchange(sess *core.Session, vhost string) error {
	if _, ok := s.dlxReady.Load(vhost); ok {
		return nil
	}
	err := sess.DeclareExchange(dlxExchange, core.ExchangeOptions{Kind: core.KindDirect, Durable: true, Internal: true})
	if err == nil {
		s.dlxReady.Store(vhost, true)
	}
	return err
}

// handleListDeadLetterSourceQueues lists the queues dead-lettering into one.
func (s *Server) handleListDeadLetterSourceQueues(c *call) *awsapi.Error {
	var in listDeadLetterSourceQueuesInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, _, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	names := s.deadLetterSources(c.vhost(), name)
	page, next, err := paginate(names, in.NextToken, in.MaxResults)
	if err != nil {
		return err
	}
	base := s.baseURL(c.r)
	urls := make([]string, len(page))
	for i, n := range page {
		urls[i] = s.queueURL(base, n)
	}
	c.w.Begin("ListDeadLetterSourceQueues", true)
	c.w.StrList("queueUrls", "QueueUrl", urls)
	if next != "" {
		c.w.Str("NextToken", next)
	}
	return nil
}
