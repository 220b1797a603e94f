package sqs

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// systemAttributes are the MessageSystemAttributeName values ReceiveMessage
// returns.
var systemAttributes = []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount",
	"ApproximateFirstReceiveTimestamp", "SequenceNumber", "MessageDeduplicationId", "MessageGroupId",
	"AWSTraceHeader", "DeadLetterQueueSourceArn"}

// handleReceiveMessage takes up to MaxNumberOfMessages messages, waiting up
// to WaitTimeSeconds (or the queue's ReceiveMessageWaitTimeSeconds) for the
// first: core's Get registers a waiter that a publish wakes, so a long poll
// costs no goroutine of its own and no polling.
func (s *Server) handleReceiveMessage(c *call) *awsapi.Error {
	var in receiveMessageInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	m := s.meta(q)
	max := int32(1)
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
		if max < 1 || max > 10 {
			return invalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and "+
				"10, if provided.", max)
		}
	}
	vis := m.visibility
	if in.VisibilityTimeout != nil {
		vis = int64(*in.VisibilityTimeout)
		if vis < 0 || vis > 43200 {
			return invalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and "+
				"43200, if provided.", vis)
		}
	}
	wait := m.wait
	if in.WaitTimeSeconds != nil {
		wait = int64(*in.WaitTimeSeconds)
		if wait < 0 || wait > 20 {
			return invalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, "+
				"if provided.", wait)
		}
	}
	if in.ReceiveRequestAttemptID != "" {
		if err := checkFIFOID("ReceiveRequestAttemptId", in.ReceiveRequestAttemptID); err != nil {
			return err
		}
	}
	lease := time.Duration(vis) * time.Second
	if lease == 0 {
		lease = time.Nanosecond // visible again at once: core reads 0 as "the queue's default"
	}
	attemptKey := ""
	if m.fifo && in.ReceiveRequestAttemptID != "" {
		attemptKey = strconv.FormatUint(c.p.id, 10) + "/" + name + "/" + in.ReceiveRequestAttemptID
		if ms, ok := s.attempts.replay(attemptKey, c.p, lease, s.now()); ok {
			s.writeMessages(c, q, m, &in, ms)
			return nil
		}
	}
	s.polls.Add(1)
	ds, gerr := c.p.sess.Get(c.r.Context(), name, core.GetOptions{Max: int(max), Wait: time.Duration(wait) * time.Second,
		Lease: lease})
	s.polls.Add(-1)
	if gerr != nil {
		return fromCore(gerr)
	}
	now := s.now()
	ms := make([]received, len(ds))
	for i, d := range ds {
		ms[i] = received{d: d, handle: receipt{instance: s.instance, session: c.p.id, tag: d.Tag, seq: d.Seq,
			queue: name}.encode(), first: s.first.note(q, d, now)}
	}
	if attemptKey != "" && len(ms) > 0 {
		s.attempts.remember(attemptKey, ms, now)
	}
	s.writeMessages(c, q, m, &in, ms)
	return nil
}

// received is one delivery with its handle.
type received struct {
	d      *core.Delivery
	handle string
	first  int64 // ApproximateFirstReceiveTimestamp, ms
}

func (s *Server) writeMessages(c *call, q *core.Queue, m *queueMeta, in *receiveMessageInput, ms []received) {
	w := c.w
	w.Begin("ReceiveMessage", true)
	if len(ms) == 0 {
		return
	}
	names := append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...)
	w.BeginList("Messages")
	for _, r := range ms {
		s.writeMessage(w, q, m, names, nameFilter(in.MessageAttributeNames), r)
	}
	w.EndList()
}

func (s *Server) writeMessage(w *awsapi.Writer, q *core.Queue, m *queueMeta, sysNames []string, f nameFilter, r received) {
	d := r.d
	msg := d.Message
	body, md5Body := string(msg.Body), md5Hex(msg.Body)
	var extra []messageAttribute
	if !validText(body) {
		body = base64.StdEncoding.EncodeToString(msg.Body)
		md5Body = md5Hex([]byte(body))
		extra = append(extra, messageAttribute{Name: bodyEncoding, DataType: "String", String: "base64"})
	}
	w.BeginItem("Message")
	w.Str("MessageId", messageID(q, d))
	w.Str("ReceiptHandle", r.handle)
	w.Str("MD5OfBody", md5Body)
	w.Str("Body", body)
	if sys := s.systemAttributes(m, sysNames, r); len(sys) > 0 {
		w.StrMap("Attributes", "Attribute", "Name", "Value", sys)
	}
	attrs := headersToAttributes(msg.Properties.Headers, f)
	if len(extra) > 0 {
		attrs = append(attrs, extra...)
	}
	if len(attrs) > 0 {
		w.Str("MD5OfMessageAttributes", attrMD5(attrs))
		w.BeginMap("MessageAttributes")
		for _, a := range attrs {
			w.BeginEntry("MessageAttribute", "Name", "Value", a.Name)
			if a.Binary != nil {
				w.Blob("BinaryValue", a.Binary)
			} else {
				w.Str("StringValue", a.String)
			}
			w.Str("DataType", a.DataType)
			w.EndEntry("MessageAttribute", "Value")
		}
		w.EndMap()
	}
	w.EndItem("Message")
}

// messageID is the SQS MessageId of a delivery: the message id it was sent
// with, or for a message published without one (by AMQP, say) a UUID derived
// from its queue and position, stable across receives.
func messageID(q *core.Queue, d *core.Delivery) string {
	if id := d.Message.Properties.MessageID; id != "" {
		return id
	}
	h := fnv.New128a()
	h.Write([]byte(q.Name()))
	h.Write([]byte(strconv.FormatUint(d.Seq, 10)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	return awsapi.FormatUUID(u)
}

// systemAttributes renders the system attributes asked for.
func (s *Server) systemAttributes(m *queueMeta, names []string, r received) map[string]string {
	if len(names) == 0 {
		return nil
	}
	all := contains(names, "All")
	want := func(n string) bool { return all || contains(names, n) }
	d := r.d
	msg := d.Message
	h := msg.Properties.Headers
	out := map[string]string{}
	if want("SenderId") {
		sender, _ := h[senderHeader].(string)
		if sender == "" {
			sender = msg.Properties.UserID
		}
		if sender == "" {
			sender = s.cfg.AccountID
		}
		out["SenderId"] = sender
	}
	if want("SentTimestamp") {
		out["SentTimestamp"] = strconv.FormatInt(msg.Published.UnixMilli(), 10)
	}
	if want("ApproximateReceiveCount") {
		out["ApproximateReceiveCount"] = strconv.FormatUint(uint64(d.Count), 10)
	}
	if want("ApproximateFirstReceiveTimestamp") {
		out["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(r.first, 10)
	}
	if m.fifo && want("SequenceNumber") {
		out["SequenceNumber"] = sequenceNumber(d.Seq)
	}
	if want("MessageDeduplicationId") && m.fifo {
		if id := msg.DedupID; id != "" {
			out["MessageDeduplicationId"] = id
		} else if m.contentDedup {
			sum := sha256.Sum256(msg.Body)
			out["MessageDeduplicationId"] = hex.EncodeToString(sum[:])
		}
	}
	if want("MessageGroupId") && msg.GroupID != "" {
		out["MessageGroupId"] = msg.GroupID
	}
	if t, ok := h[traceHeader].(string); ok && want("AWSTraceHeader") {
		out["AWSTraceHeader"] = t
	}
	if src, ok := h[lastDeathQueue].(string); ok && want("DeadLetterQueueSourceArn") {
		out["DeadLetterQueueSourceArn"] = s.queueARN(src)
	}
	return out
}

// firstReceives remembers when each message in flight was first received
// (ApproximateFirstReceiveTimestamp), which core does not record. Entries go
// when the message is deleted; a shard that grows past its bound (messages
// dropped by retention or purge) starts over, and a message it forgot reports
// its send time.
type firstReceives struct {
	shards [16]struct {
		mu sync.Mutex
		m  map[firstKey]int64
	}
}

type firstKey struct {
	q   *core.Queue
	seq uint64
}

const firstShardMax = 1 << 16

func (f *firstReceives) shard(k firstKey) *struct {
	mu sync.Mutex
	m  map[firstKey]int64
} {
	return &f.shards[k.seq%uint64(len(f.shards))]
}

// note records the first receive of d and returns its time in ms.
func (f *firstReceives) note(q *core.Queue, d *core.Delivery, now time.Time) int64 {
	k := firstKey{q, d.Seq}
	sh := f.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if t, ok := sh.m[k]; ok && d.Count > 1 {
		return t
	}
	t := now.UnixMilli()
	if d.Count > 1 {
		t = d.Message.Published.UnixMilli()
	}
	if sh.m == nil || len(sh.m) >= firstShardMax {
		sh.m = make(map[firstKey]int64)
	}
	sh.m[k] = t
	return t
}

func (f *firstReceives) forget(q *core.Queue, seq uint64) {
	k := firstKey{q, seq}
	sh := f.shard(k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// attemptCache keeps the result of FIFO receives made with a
// ReceiveRequestAttemptId for 5 minutes: a retry with the same id gets the
// same messages and handles, their visibility timeout restarted, as long as
// every one is still in flight.
type attemptCache struct {
	mu sync.Mutex
	m  map[string]attempt
}

type attempt struct {
	at   time.Time
	msgs []received
}

const attemptWindow = 5 * time.Minute

func (a *attemptCache) remember(key string, ms []received, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[string]attempt)
	}
	if len(a.m) >= 4096 {
		for k, v := range a.m {
			if now.Sub(v.at) >= attemptWindow {
				delete(a.m, k)
			}
		}
	}
	a.m[key] = attempt{at: now, msgs: ms}
}

func (a *attemptCache) replay(key string, p *principal, lease time.Duration, now time.Time) ([]received, bool) {
	a.mu.Lock()
	at, ok := a.m[key]
	if ok && now.Sub(at.at) >= attemptWindow {
		delete(a.m, key)
		ok = false
	}
	a.mu.Unlock()
	if !ok {
		return nil, false
	}
	for _, r := range at.msgs {
		if p.sess.Touch(r.d.Tag, lease) != nil {
			a.mu.Lock()
			delete(a.m, key)
			a.mu.Unlock()
			return nil, false
		}
	}
	return at.msgs, true
}
