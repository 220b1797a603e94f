package sqs

import (
	"encoding/base64"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// recreateDelay and purgeInterval are SQS's 60-second rules.
const (
	recreateDelay = 60 * time.Second
	purgeInterval = 60 * time.Second
)

// handleCreateQueue creates a queue, or returns the URL of an existing one
// whose attributes match those given (QueueNameExists otherwise).
func (s *Server) handleCreateQueue(c *call) *awsapi.Error {
	var in createQueueInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.QueueName == "" {
		return missingParam("QueueName")
	}
	fifo := isFIFOName(in.QueueName)
	if !validQueueName(in.QueueName) || (in.Attributes["FifoQueue"] == "true") != fifo {
		return invalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. " +
			"A FIFO queue's name ends in .fifo and it is created with the attribute FifoQueue set to true.")
	}
	vh := c.vhost()
	ac := &attrContext{s: s, vh: vh, name: in.QueueName, fifo: fifo}
	if q := vh.Queue(in.QueueName); q != nil {
		return s.createExisting(c, ac, q, in)
	}
	key := c.p.vhost + "/" + in.QueueName
	if !s.cfg.NoRecreateDelay {
		s.mu.Lock()
		at, ok := s.deleted[key]
		s.mu.Unlock()
		if ok && s.now().Sub(at) < recreateDelay {
			return errQueueDeletedRecently.With("You must wait 60 seconds after deleting a queue before you can " +
				"create another queue with the same name.")
		}
	}
	args := newQueueArgs(in.QueueName, fifo, s.now())
	if err := applyAttributes(ac, args, in.Attributes, true); err != nil {
		return err
	}
	if len(in.Tags) > 0 {
		args[argTags] = tagTable(in.Tags)
	}
	sess := c.p.sess
	if err := s.ensureDeadLetterExchange(sess, c.p.vhost); err != nil {
		return fromCore(err)
	}
	if _, err := sess.DeclareQueue(in.QueueName, core.QueueOptions{Durable: true, Args: args}); err != nil {
		if core.CodeOf(err) == core.PreconditionFailed && vh.Queue(in.QueueName) != nil {
			return errQueueNameExists.With("A queue already exists with the same name and a different value for attributes.")
		}
		return fromCore(err)
	}
	if dlq := s.deadLetterTarget(args); dlq != "" {
		if err := syncRedriveBinding(sess, in.QueueName, "", dlq); err != nil {
			return fromCore(err)
		}
	}
	// A DLQ created again after its sources regains their dead letters.
	for _, src := range s.deadLetterSources(vh, in.QueueName) {
		_ = sess.Bind(in.QueueName, dlxExchange, src, nil, false)
	}
	c.w.Begin("CreateQueue", true)
	c.w.Str("QueueUrl", s.queueURL(s.baseURL(c.r), in.QueueName))
	return nil
}

// createExisting answers CreateQueue for a queue that exists: its URL when
// every attribute given has the queue's value.
func (s *Server) createExisting(c *call, ac *attrContext, q *core.Queue, in createQueueInput) *awsapi.Error {
	info := q.Info()
	want := maps.Clone(info.Args)
	if err := applyAttributes(ac, want, in.Attributes, true); err != nil {
		return err
	}
	view := &queueView{s: s, name: in.QueueName, info: info}
	wantView := &queueView{s: s, name: in.QueueName, info: core.QueueInfo{Args: want}}
	for name := range in.Attributes {
		spec := queueAttributes[name]
		got, _ := spec.get(view)
		exp, _ := spec.get(wantView)
		if got != exp {
			return errQueueNameExists.With("A queue already exists with the same name and a different value for " +
				"attribute " + name + ".")
		}
	}
	c.w.Begin("CreateQueue", true)
	c.w.Str("QueueUrl", s.queueURL(s.baseURL(c.r), in.QueueName))
	return nil
}

// handleDeleteQueue deletes a queue and its messages.
func (s *Server) handleDeleteQueue(c *call) *awsapi.Error {
	var in queueURLInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	dlq := s.deadLetterTarget(q.Info().Args)
	if _, err := c.p.sess.DeleteQueue(name, core.DeleteQueueOptions{}); err != nil {
		return fromCore(err)
	}
	if dlq != "" {
		_ = c.p.sess.Unbind(dlq, dlxExchange, name, nil, false)
	}
	s.metas.Delete(q)
	s.mu.Lock()
	s.deleted[c.p.vhost+"/"+name] = s.now()
	expire(s.deleted, s.now(), recreateDelay)
	s.mu.Unlock()
	return nil
}

// expire drops the entries of m older than d.
func expire(m map[string]time.Time, now time.Time, d time.Duration) {
	if len(m) < 64 {
		return
	}
	for k, t := range m {
		if now.Sub(t) >= d {
			delete(m, k)
		}
	}
}

// handleGetQueueUrl returns the URL of a queue by name.
func (s *Server) handleGetQueueURL(c *call) *awsapi.Error {
	var in getQueueURLInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.QueueName == "" {
		return missingParam("QueueName")
	}
	if in.QueueOwnerAWSAccountID != "" && in.QueueOwnerAWSAccountID != s.cfg.AccountID {
		return errQueueDoesNotExist
	}
	vh := c.vhost()
	if vh == nil || vh.Queue(in.QueueName) == nil {
		return errQueueDoesNotExist
	}
	c.w.Begin("GetQueueUrl", true)
	c.w.Str("QueueUrl", s.queueURL(s.baseURL(c.r), in.QueueName))
	return nil
}

// handleListQueues lists the vhost's queues whose names SQS accepts.
func (s *Server) handleListQueues(c *call) *awsapi.Error {
	var in listQueuesInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var names []string
	for _, n := range c.vhost().QueueNames() {
		if validQueueName(n) && strings.HasPrefix(n, in.QueueNamePrefix) {
			names = append(names, n)
		}
	}
	page, next, err := paginate(names, in.NextToken, in.MaxResults)
	if err != nil {
		return err
	}
	base := s.baseURL(c.r)
	urls := make([]string, len(page))
	for i, n := range page {
		urls[i] = s.queueURL(base, n)
	}
	c.w.Begin("ListQueues", true)
	if len(urls) > 0 {
		c.w.StrList("QueueUrls", "QueueUrl", urls)
	}
	if next != "" {
		c.w.Str("NextToken", next)
	}
	return nil
}

// paginate returns the page of sorted names after token, at most max (1 to
// 1000; without max, the first 1000 and no token, as SQS does).
func paginate(names []string, token string, max *int32) ([]string, string, *awsapi.Error) {
	limit := 1000
	if max != nil {
		if *max < 1 || *max > 1000 {
			return nil, "", invalidParam("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be "+
				"an integer between 1 and 1000.", *max)
		}
		limit = int(*max)
	}
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", invalidParam("Invalid or expired next token.")
		}
		start = sort.SearchStrings(names, string(after)+"\x00")
	}
	end := min(start+limit, len(names))
	page := names[start:end]
	next := ""
	if max != nil && end < len(names) {
		next = base64.RawURLEncoding.EncodeToString([]byte(names[end-1]))
	}
	return page, next, nil
}

// handleGetQueueAttributes returns the attributes asked for.
func (s *Server) handleGetQueueAttributes(c *call) *awsapi.Error {
	var in getQueueAttributesInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	view := &queueView{s: s, name: name, info: q.Info()}
	attrs, err := readAttributes(view, s.meta(q).fifo, in.AttributeNames)
	if err != nil {
		return err
	}
	c.w.Begin("GetQueueAttributes", true)
	if len(attrs) > 0 {
		c.w.StrMap("Attributes", "Attribute", "Name", "Value", attrs)
	}
	return nil
}

// handleSetQueueAttributes changes attributes of a queue.
func (s *Server) handleSetQueueAttributes(c *call) *awsapi.Error {
	var in setQueueAttributesInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, q, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if len(in.Attributes) == 0 {
		return missingParam("Attribute.N")
	}
	return s.updateArgs(c, name, q, func(args core.Table) *awsapi.Error {
		return applyAttributes(&attrContext{s: s, vh: c.vhost(), name: name, fifo: s.meta(q).fifo}, args, in.Attributes, false)
	})
}

// updateArgs changes q's arguments with edit, then keeps the dead-letter
// binding and the cached settings in step.
func (s *Server) updateArgs(c *call, name string, q *core.Queue, edit func(core.Table) *awsapi.Error) *awsapi.Error {
	old := q.Info().Args
	args := maps.Clone(old)
	if args == nil {
		args = core.Table{}
	}
	if err := edit(args); err != nil {
		return err
	}
	args[argModified] = s.now().Unix()
	info, err := c.p.sess.SetQueueArguments(name, args)
	if err != nil {
		return fromCore(err)
	}
	s.metas.Store(q, metaOf(name, info.Args))
	if err := syncRedriveBinding(c.p.sess, name, s.deadLetterTarget(old), s.deadLetterTarget(info.Args)); err != nil &&
		core.CodeOf(err) != core.NotFound {
		return fromCore(err)
	}
	return nil
}

// handlePurgeQueue deletes a queue's messages, once per 60 seconds.
func (s *Server) handlePurgeQueue(c *call) *awsapi.Error {
	var in queueURLInput
	if err := c.decode(&in); err != nil {
		return err
	}
	name, _, err := c.queue(in.QueueURL)
	if err != nil {
		return err
	}
	if !s.cfg.NoPurgeLimit {
		key := c.p.vhost + "/" + name
		now := s.now()
		s.mu.Lock()
		last, ok := s.purged[key]
		if ok && now.Sub(last) < purgeInterval {
			s.mu.Unlock()
			return errPurgeQueueInProgress.With("Only one PurgeQueue operation on " + name + " is allowed every 60 seconds.")
		}
		s.purged[key] = now
		expire(s.purged, now, purgeInterval)
		s.mu.Unlock()
	}
	if _, err := c.p.sess.Purge(name); err != nil {
		return fromCore(err)
	}
	return nil
}
