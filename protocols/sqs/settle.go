package sqs

import (
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// lease is the core lease a receipt handle names; p is nil when the handle
// is stale (issued before a restart, or by a session that is gone).
type lease struct {
	p *principal
	r receipt
}

// resolve decodes handle for queue name: ReceiptHandleIsInvalid for a handle
// we did not issue, or one of another queue or vhost.
func (s *Server) resolve(c *call, name, handle string) (lease, *awsapi.Error) {
	if handle == "" {
		return lease{}, missingParam("ReceiptHandle")
	}
	r, ok := decodeReceipt(handle)
	if !ok || r.queue != name {
		return lease{}, errReceiptHandleInvalid.With("The input receipt handle \"" + truncate(handle, 100) +
			"\" is not a valid receipt handle.")
	}
	if r.instance != s.instance {
		return lease{r: r}, nil
	}
	p := s.principalByID(r.session)
	if p != nil && p.vhost != c.p.vhost {
		return lease{}, errReceiptHandleInvalid.With("The input receipt handle is not a valid receipt handle.")
	}
	return lease{p: p, r: r}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// deleteMessages deletes the messages of handles and returns each one's
// error. A stale handle (the message was received again, its visibility
// expired, it was deleted) succeeds without effect, as SQS documents. The
// handles a session issued are settled together, with one store commit.
func (s *Server) deleteMessages(c *call, q *core.Queue, name string, handles []string) []*awsapi.Error {
	errs := make([]*awsapi.Error, len(handles))
	ls := make([]lease, len(handles))
	for i, h := range handles {
		ls[i], errs[i] = s.resolve(c, name, h)
	}
	// The handles of each session (usually one) in one AckEach.
	bySession := make(map[*principal][]int, 1)
	for i, l := range ls {
		if errs[i] == nil && l.p != nil {
			bySession[l.p] = append(bySession[l.p], i)
		}
	}
	for p, at := range bySession {
		tags := make([]uint64, len(at))
		for k, i := range at {
			tags[k] = ls[i].r.tag
		}
		failed := p.sess.AckEach(tags)
		for k, i := range at {
			if failed == nil || failed[k] == nil {
				s.first.forget(q, ls[i].r.seq)
			}
		}
	}
	return errs
}

// handleDeleteMessage deletes one message.
func (s *Server) handleDeleteMessage(c *call) *awsapi.Error {
	var in deleteMessageInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if err := s.deleteMessages(c, q, name, []string{in.ReceiptHandle})[0]; err != nil {
		return err
	}
	return durable(c)
}

// durable waits until the deletions made so far are on disk, so that a
// message whose deletion the client saw succeed never comes back after a
// crash of the gateway. AWS allows a deleted message to be received again on
// rare occasions; mqgate does not.
func durable(c *call) *awsapi.Error {
	if err := c.p.sess.Flush(); err != nil {
		return fromCore(err)
	}
	return nil
}

// handleDeleteMessageBatch deletes up to 10 messages.
func (s *Server) handleDeleteMessageBatch(c *call) *awsapi.Error {
	// Room for a full batch, so the decoder fills it instead of growing it.
	in := deleteMessageBatchInput{Entries: make([]deleteMessageBatchEntry, 0, maxBatch)}
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	ids, handles := make([]string, len(in.Entries)), make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i], handles[i] = e.ID, e.ReceiptHandle
	}
	if err := checkBatch(ids, "DeleteMessageBatchRequestEntry"); err != nil {
		return err
	}
	errs := s.deleteMessages(c, q, name, handles)
	if err := durable(c); err != nil {
		return err
	}
	var failed []batchFailure
	w := c.w
	w.Begin("DeleteMessageBatch", true)
	w.BeginList("Successful")
	for i, e := range in.Entries {
		if errs[i] != nil {
			failed = append(failed, batchFailure{e.ID, errs[i]})
			continue
		}
		w.BeginItem("DeleteMessageBatchResultEntry")
		w.Str("Id", e.ID)
		w.EndItem("DeleteMessageBatchResultEntry")
	}
	w.EndList()
	writeFailed(w, failed)
	return nil
}

// changeOne restarts the visibility timeout of a handle's message; 0 makes it
// visible at once.
func (s *Server) changeOne(c *call, name, handle string, vis *int32) *awsapi.Error {
	if vis == nil {
		return missingParam("VisibilityTimeout")
	}
	if *vis < 0 || *vis > 43200 {
		return invalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and "+
			"43200, if provided.", *vis)
	}
	l, err := s.resolve(c, name, handle)
	if err != nil {
		return err
	}
	if l.p == nil || l.p.sess.Touch(l.r.tag, time.Duration(*vis)*time.Second) != nil {
		return errMessageNotInflight.With("Value " + truncate(handle, 100) + " for parameter ReceiptHandle is invalid. " +
			"Reason: Message does not exist or is not available for visibility timeout change.")
	}
	return nil
}

// handleChangeMessageVisibility changes one message's visibility timeout.
func (s *Server) handleChangeMessageVisibility(c *call) *awsapi.Error {
	var in changeVisibilityInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, _, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	return s.changeOne(c, name, in.ReceiptHandle, in.VisibilityTimeout)
}

// handleChangeMessageVisibilityBatch changes up to 10 visibility timeouts.
func (s *Server) handleChangeMessageVisibilityBatch(c *call) *awsapi.Error {
	// Room for a full batch, so the decoder fills it instead of growing it.
	in := changeVisibilityBatchInput{Entries: make([]changeVisibilityBatchEntry, 0, maxBatch)}
	if err := c.decode(&in); err != nil {
		return err
	}
	name, _, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.ID
	}
	if err := checkBatch(ids, "ChangeMessageVisibilityBatchRequestEntry"); err != nil {
		return err
	}
	var failed []batchFailure
	w := c.w
	w.Begin("ChangeMessageVisibilityBatch", true)
	w.BeginList("Successful")
	for _, e := range in.Entries {
		if err := s.changeOne(c, name, e.ReceiptHandle, e.VisibilityTimeout); err != nil {
			failed = append(failed, batchFailure{e.ID, err})
			continue
		}
		w.BeginItem("ChangeMessageVisibilityBatchResultEntry")
		w.Str("Id", e.ID)
		w.EndItem("ChangeMessageVisibilityBatchResultEntry")
	}
	w.EndList()
	writeFailed(w, failed)
	return nil
}
