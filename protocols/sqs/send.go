package sqs

import (
	"slices"
	"strconv"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// maxBatch is the most entries of a batch request.
const maxBatch = 10

// sendEntry is one message to send, from SendMessage or a batch entry.
type sendEntry struct {
	body     *string
	delay    *int32
	attrs    map[string]attributeValue
	sysAttrs map[string]attributeValue
	dedupID  *string
	groupID  *string
}

// prepared is a validated message ready to publish, with the checksums of
// what was sent.
type prepared struct {
	msg      *core.Message
	md5Body  string
	md5Attrs string
	md5Sys   string
	size     int
}

// sent is the outcome of a publish.
type sent struct {
	messageID string
	seq       string
	err       *awsapi.Error
}

// prepare validates e for queue m and builds its core message (README:
// "Messages").
func (s *Server) prepare(c *call, m *queueMeta, e sendEntry) (prepared, *awsapi.Error) {
	var p prepared
	if e.body == nil || *e.body == "" {
		return p, missingParam("MessageBody")
	}
	body := *e.body
	if !validText(body) {
		return p, errInvalidMessage.With("Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | " +
			"#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	attrs, attrSize, err := validateMessageAttributes(e.attrs)
	if err != nil {
		return p, err
	}
	p.size = len(body) + attrSize
	if p.size > m.maxSize {
		return p, invalidParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", m.maxSize)
	}
	msg := &core.Message{RoutingKey: m.name, Body: []byte(body)}
	if e.delay != nil {
		d := *e.delay
		switch {
		case d < 0 || d > 900:
			return p, invalidParam("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 "+
				"and <= 900.", d)
		case m.fifo && d != 0:
			return p, invalidParam("Value %d for parameter DelaySeconds is invalid. Reason: The request include "+
				"parameter that is not valid for this queue type.", d)
		}
		msg.Delay = time.Duration(d) * time.Second
	}
	if e.groupID != nil {
		if err := checkFIFOID("MessageGroupId", *e.groupID); err != nil {
			return p, err
		}
		msg.GroupID = *e.groupID
	}
	if e.dedupID != nil {
		if !m.fifo {
			return p, invalidParam("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request "+
				"includes a parameter that is not valid for this queue type.", *e.dedupID)
		}
		if err := checkFIFOID("MessageDeduplicationId", *e.dedupID); err != nil {
			return p, err
		}
		msg.DedupID = *e.dedupID
	}
	if m.fifo {
		if msg.GroupID == "" {
			return p, missingParam("MessageGroupId")
		}
		if msg.DedupID == "" && !m.contentDedup {
			return p, invalidParam("The queue should either have ContentBasedDeduplication enabled or " +
				"MessageDeduplicationId provided explicitly")
		}
	}
	headers := core.Table{senderHeader: c.akid}
	attributesToHeaders(attrs, headers)
	if len(e.sysAttrs) > 0 {
		trace, ok := e.sysAttrs["AWSTraceHeader"]
		if len(e.sysAttrs) > 1 || !ok || trace.DataType != "String" || trace.StringValue == nil || *trace.StringValue == "" {
			return p, invalidParam("Message system attribute name is invalid: only AWSTraceHeader, of type String, may be sent.")
		}
		headers[traceHeader] = *trace.StringValue
		p.md5Sys = attrMD5([]messageAttribute{{Name: "AWSTraceHeader", DataType: "String", String: *trace.StringValue}})
	}
	msg.Properties = core.Properties{MessageID: awsapi.NewRequestID(), DeliveryMode: core.Persistent,
		Headers: headers, Timestamp: s.now()}
	p.msg = msg
	p.md5Body = md5Hex(msg.Body)
	p.md5Attrs = attrMD5(attrs)
	return p, nil
}

// checkFIFOID applies the rules of MessageGroupId and MessageDeduplicationId:
// 1 to 128 of the printable ASCII characters.
func checkFIFOID(param, v string) *awsapi.Error {
	ok := v != "" && len(v) <= 128
	for i := 0; i < len(v) && ok; i++ {
		ok = v[i] >= 0x21 && v[i] <= 0x7e
	}
	if !ok {
		return invalidParam("Value %s for parameter %s is invalid. Reason: %s can only include alphanumeric and "+
			"punctuation characters. 1 to 128 in length.", v, param, param)
	}
	return nil
}

// publish sends prepared messages in order and waits until each is safe
// (core's confirm: in the queue and, for a durable store, on disk).
func (s *Server) publish(c *call, m *queueMeta, ps []prepared) []sent {
	out := make([]sent, len(ps))
	confirms := make(chan struct {
		i   int
		err error
	}, len(ps))
	waiting := 0
	for i := range ps {
		if ps[i].msg == nil {
			continue
		}
		i := i
		res, err := c.p.sess.Publish(ps[i].msg, core.PublishOptions{Confirm: func(err error) {
			confirms <- struct {
				i   int
				err error
			}{i, err}
		}})
		if err != nil {
			out[i].err = fromCore(err)
			continue
		}
		waiting++
		switch {
		case res.Duplicate:
			out[i].messageID = res.DuplicateOf
			if out[i].messageID == "" {
				out[i].messageID = ps[i].msg.Properties.MessageID
			}
		case res.Routed == 0:
			out[i].err = errQueueDoesNotExist
		default:
			out[i].messageID = ps[i].msg.Properties.MessageID
		}
		if m.fifo {
			out[i].seq = sequenceNumber(res.Seq)
		}
	}
	for ; waiting > 0; waiting-- {
		r := <-confirms
		if r.err != nil && out[r.i].err == nil {
			out[r.i].err = fromCore(r.err)
		}
	}
	return out
}

// sequenceNumber renders a queue position as SQS's 20-digit sequence number.
func sequenceNumber(seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	const width = 20
	if len(s) >= width {
		return s
	}
	b := make([]byte, width)
	for i := range b[:width-len(s)] {
		b[i] = '0'
	}
	copy(b[width-len(s):], s)
	return string(b)
}

// handleSendMessage sends one message.
func (s *Server) handleSendMessage(c *call) *awsapi.Error {
	var in sendMessageInput
	if err := c.decode(&in); err != nil {
		return err
	}
	_, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if s.b.Blocked() {
		return errRequestThrottled
	}
	m := s.meta(q)
	p, err := s.prepare(c, m, sendEntry{body: in.MessageBody, delay: in.DelaySeconds, attrs: in.MessageAttributes,
		sysAttrs: in.MessageSystemAttributes, dedupID: in.MessageDeduplicationID, groupID: in.MessageGroupID})
	if err != nil {
		return err
	}
	r := s.publish(c, m, []prepared{p})[0]
	if r.err != nil {
		return r.err
	}
	w := c.w
	w.Begin("SendMessage", true)
	w.Str("MD5OfMessageBody", p.md5Body)
	if p.md5Attrs != "" {
		w.Str("MD5OfMessageAttributes", p.md5Attrs)
	}
	if p.md5Sys != "" {
		w.Str("MD5OfMessageSystemAttributes", p.md5Sys)
	}
	w.Str("MessageId", r.messageID)
	if r.seq != "" {
		w.Str("SequenceNumber", r.seq)
	}
	return nil
}

// batchFailure is one failed entry of a batch.
type batchFailure struct {
	id  string
	err *awsapi.Error
}

// checkBatch applies the whole-request rules of a batch to its entry ids.
func checkBatch(ids []string, entryName string) *awsapi.Error {
	if len(ids) == 0 {
		return errEmptyBatch.With("There should be at least one " + entryName + " in the request.")
	}
	if len(ids) > maxBatch {
		return errTooManyEntries.With("Maximum number of entries per request are 10. You have sent " +
			strconv.Itoa(len(ids)) + ".")
	}
	for i, id := range ids {
		if !validBatchID(id) {
			return errInvalidBatchEntryID.With("A batch entry id can only contain alphanumeric characters, hyphens " +
				"and underscores. It can be at most 80 letters long.")
		}
		if slices.Contains(ids[:i], id) { // ten at most: cheaper than a map
			return errBatchIDsNotDistinct.With("Id " + id + " repeated.")
		}
	}
	return nil
}

// handleSendMessageBatch sends up to 10 messages, in order.
func (s *Server) handleSendMessageBatch(c *call) *awsapi.Error {
	// Room for a full batch, so the decoder fills it instead of growing it.
	in := sendMessageBatchInput{Entries: make([]sendMessageBatchEntry, 0, maxBatch)}
	if err := c.decode(&in); err != nil {
		return err
	}
	_, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.ID
	}
	if err := checkBatch(ids, "SendMessageBatchRequestEntry"); err != nil {
		return err
	}
	if s.b.Blocked() {
		return errRequestThrottled
	}
	m := s.meta(q)
	ps := make([]prepared, len(in.Entries))
	var failed []batchFailure
	total := 0
	for i, e := range in.Entries {
		p, err := s.prepare(c, m, sendEntry{body: e.MessageBody, delay: e.DelaySeconds, attrs: e.MessageAttributes,
			sysAttrs: e.MessageSystemAttributes, dedupID: e.MessageDeduplicationID, groupID: e.MessageGroupID})
		if err != nil {
			failed = append(failed, batchFailure{e.ID, err})
			continue
		}
		ps[i] = p
		total += p.size
	}
	if total > maxMessageSize {
		return errBatchTooLong.With("Batch requests cannot be longer than 1048576 bytes. You have sent " +
			strconv.Itoa(total) + " bytes.")
	}
	results := s.publish(c, m, ps)
	w := c.w
	w.Begin("SendMessageBatch", true)
	w.BeginList("Successful")
	for i, r := range results {
		if ps[i].msg == nil {
			continue
		}
		if r.err != nil {
			failed = append(failed, batchFailure{in.Entries[i].ID, r.err})
			continue
		}
		w.BeginItem("SendMessageBatchResultEntry")
		w.Str("Id", in.Entries[i].ID)
		w.Str("MessageId", r.messageID)
		w.Str("MD5OfMessageBody", ps[i].md5Body)
		if ps[i].md5Attrs != "" {
			w.Str("MD5OfMessageAttributes", ps[i].md5Attrs)
		}
		if ps[i].md5Sys != "" {
			w.Str("MD5OfMessageSystemAttributes", ps[i].md5Sys)
		}
		if r.seq != "" {
			w.Str("SequenceNumber", r.seq)
		}
		w.EndItem("SendMessageBatchResultEntry")
	}
	w.EndList()
	writeFailed(w, failed)
	return nil
}

// writeFailed writes a batch's Failed list.
func writeFailed(w *awsapi.Writer, failed []batchFailure) {
	w.BeginList("Failed")
	for _, f := range failed {
		w.BeginItem("BatchResultErrorEntry")
		w.Str("Id", f.id)
		w.Bool("SenderFault", !f.err.Receiver)
		w.Str("Code", f.err.Code)
		w.Str("Message", f.err.Message)
		w.EndItem("BatchResultErrorEntry")
	}
	w.EndList()
}
