package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// Message move tasks redrive a DLQ's messages to their source queue (the one
// they died in, from x-last-death-queue) or to a given destination, at most
// MaxNumberOfMessagesPerSecond, in a goroutine owned by the server that
// Shutdown stops. A task moves the messages the DLQ held when it started.

// Task statuses, as SQS names them.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

// maxTasksListed is how many recent tasks ListMessageMoveTasks keeps per source.
const maxTasksListed = 10

type moveTasks struct {
	mu       sync.Mutex
	bySource map[string][]*moveTask // by source vhost and ARN, oldest first
	byHandle map[string]*moveTask
	wg       sync.WaitGroup
}

type moveTask struct {
	handle   string
	source   string // queue name
	srcARN   string
	dest     string // queue name, "" for each message's source
	destARN  string
	rate     int32
	started  time.Time
	toMove   int64
	cancel   context.CancelFunc
	mu       sync.Mutex
	status   string
	moved    int64
	failure  string
	vhostKey string
}

func (m *moveTasks) init() {
	m.bySource = map[string][]*moveTask{}
	m.byHandle = map[string]*moveTask{}
}

func (m *moveTasks) wait() { m.wg.Wait() }

func (t *moveTask) snapshot() (status string, moved int64, failure string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.moved, t.failure
}

func (t *moveTask) finish(status, failure string) {
	t.mu.Lock()
	if t.status == taskCancelling {
		status = taskCancelled
	}
	t.status, t.failure = status, failure
	t.mu.Unlock()
}

// handleStartMessageMoveTask starts redriving a DLQ.
func (s *Server) handleStartMessageMoveTask(c *call) *awsapi.Error {
	var in startMessageMoveTaskInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.SourceArn == "" {
		return missingParam("SourceArn")
	}
	vh := c.vhost()
	src, ok := s.nameFromARN(in.SourceArn)
	if !ok || vh.Queue(src) == nil {
		return errResourceNotFound.With("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if len(s.deadLetterSources(vh, src)) == 0 {
		return errUnsupportedOperation.With("Source queue must be configured as a Dead Letter Queue.")
	}
	t := &moveTask{source: src, srcARN: in.SourceArn, destARN: in.DestinationArn, status: taskRunning,
		started: s.now(), vhostKey: c.p.vhost + "\x00" + in.SourceArn}
	if in.DestinationArn != "" {
		dest, ok := s.nameFromARN(in.DestinationArn)
		if !ok || vh.Queue(dest) == nil {
			return errResourceNotFound.With("The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
		t.dest = dest
	}
	if in.MaxNumberOfMessagesPerSecond != nil {
		t.rate = *in.MaxNumberOfMessagesPerSecond
		if t.rate < 1 || t.rate > 500 {
			return invalidParam("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be "+
				"between 1 and 500.", t.rate)
		}
	}
	t.toMove = int64(vh.Queue(src).Info().Ready)
	hb, _ := json.Marshal(map[string]string{"taskId": awsapi.NewRequestID(), "sourceArn": in.SourceArn})
	t.handle = base64.StdEncoding.EncodeToString(hb)

	conn, err := s.b.Connect(c.p.user, c.p.vhost, core.ConnectOptions{Name: "sqs move task"})
	if err != nil {
		return fromCore(err)
	}
	sess, err := conn.OpenSession()
	if err != nil {
		conn.Close()
		return fromCore(err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	t.cancel = cancel
	s.tasks.mu.Lock()
	for _, o := range s.tasks.bySource[t.vhostKey] {
		if st, _, _ := o.snapshot(); st == taskRunning || st == taskCancelling {
			s.tasks.mu.Unlock()
			cancel()
			conn.Close()
			return errUnsupportedOperation.With("There is already a task running. Only one active task is allowed " +
				"for a source queue arn at a given time.")
		}
	}
	list := append(s.tasks.bySource[t.vhostKey], t)
	if len(list) > maxTasksListed {
		delete(s.tasks.byHandle, list[0].handle)
		list = list[1:]
	}
	s.tasks.bySource[t.vhostKey] = list
	s.tasks.byHandle[t.handle] = t
	s.tasks.wg.Add(1)
	s.tasks.mu.Unlock()
	go func() {
		defer s.tasks.wg.Done()
		defer conn.Close()
		defer cancel()
		s.runMoveTask(ctx, t, sess)
	}()
	c.w.Begin("StartMessageMoveTask", true)
	c.w.Str("TaskHandle", t.handle)
	return nil
}

// runMoveTask moves t's messages until done, cancelled or failed.
func (s *Server) runMoveTask(ctx context.Context, t *moveTask, sess *core.Session) {
	var pace *time.Ticker
	if t.rate > 0 {
		pace = time.NewTicker(time.Second / time.Duration(t.rate))
		defer pace.Stop()
	}
	for {
		_, moved, _ := t.snapshot()
		if ctx.Err() != nil {
			t.finish(taskCancelled, "")
			return
		}
		if moved >= t.toMove {
			t.finish(taskCompleted, "")
			return
		}
		ds, err := sess.Get(ctx, t.source, core.GetOptions{Max: int(min(10, t.toMove-moved)), Lease: time.Minute})
		if err != nil {
			t.finish(taskFailed, err.Error())
			return
		}
		if len(ds) == 0 {
			t.finish(taskCompleted, "")
			return
		}
		for i, d := range ds {
			if pace != nil {
				select {
				case <-pace.C:
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				requeue(sess, ds[i:])
				t.finish(taskCancelled, "")
				return
			}
			if reason := moveOne(sess, d, t.dest); reason != "" {
				requeue(sess, ds[i:])
				t.finish(taskFailed, reason)
				return
			}
			t.mu.Lock()
			t.moved++
			t.mu.Unlock()
		}
	}
}

func requeue(sess *core.Session, ds []*core.Delivery) {
	for _, d := range ds {
		_ = sess.Nack(d.Tag, core.NackOptions{Requeue: true})
	}
}

// moveOne republishes d to dest (or where it died) without its death
// history, waits until it is safe, and removes it from the DLQ. It returns a
// failure reason, or "".
func moveOne(sess *core.Session, d *core.Delivery, dest string) string {
	m := *d.Message
	if dest == "" {
		dest, _ = m.Properties.Headers[lastDeathQueue].(string)
	}
	if dest == "" || sess.Connection().VHost().Queue(dest) == nil {
		return "AWS.SimpleQueueService.NonExistentQueue"
	}
	h := core.Table{}
	for k, v := range m.Properties.Headers {
		if k != deathHeader && !strings.HasPrefix(k, "x-first-death-") && !strings.HasPrefix(k, "x-last-death-") {
			h[k] = v
		}
	}
	m.Properties.Headers = h
	m.Exchange, m.RoutingKey, m.Delay, m.Published = "", dest, 0, time.Time{}
	done := make(chan error, 1)
	if _, err := sess.Publish(&m, core.PublishOptions{Confirm: func(err error) { done <- err }}); err != nil {
		return err.Error()
	}
	if err := <-done; err != nil {
		return err.Error()
	}
	_ = sess.Ack(d.Tag, false)
	return ""
}

// handleListMessageMoveTasks lists a source's most recent tasks, newest first.
func (s *Server) handleListMessageMoveTasks(c *call) *awsapi.Error {
	var in listMessageMoveTasksInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.SourceArn == "" {
		return missingParam("SourceArn")
	}
	src, ok := s.nameFromARN(in.SourceArn)
	if !ok || c.vhost().Queue(src) == nil {
		return errResourceNotFound.With("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	max := int32(1)
	if in.MaxResults != nil {
		max = *in.MaxResults
		if max < 1 || max > maxTasksListed {
			return invalidParam("Value %d for parameter MaxResults is invalid. Reason: Must be between 1 and 10.", max)
		}
	}
	s.tasks.mu.Lock()
	list := append([]*moveTask(nil), s.tasks.bySource[c.p.vhost+"\x00"+in.SourceArn]...)
	s.tasks.mu.Unlock()
	w := c.w
	w.Begin("ListMessageMoveTasks", true)
	w.BeginList("Results")
	for i := len(list) - 1; i >= 0 && int32(len(list)-1-i) < max; i-- {
		t := list[i]
		status, moved, failure := t.snapshot()
		w.BeginItem("ListMessageMoveTasksResultEntry")
		if status == taskRunning {
			w.Str("TaskHandle", t.handle)
		}
		w.Str("Status", status)
		w.Str("SourceArn", t.srcARN)
		if t.destARN != "" {
			w.Str("DestinationArn", t.destARN)
		}
		if t.rate > 0 {
			w.Int("MaxNumberOfMessagesPerSecond", int64(t.rate))
		}
		w.Int("ApproximateNumberOfMessagesMoved", moved)
		w.Int("ApproximateNumberOfMessagesToMove", t.toMove)
		if failure != "" {
			w.Str("FailureReason", failure)
		}
		w.Int("StartedTimestamp", t.started.UnixMilli())
		w.EndItem("ListMessageMoveTasksResultEntry")
	}
	w.EndList()
	return nil
}

// handleCancelMessageMoveTask cancels a running task.
func (s *Server) handleCancelMessageMoveTask(c *call) *awsapi.Error {
	var in cancelMessageMoveTaskInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.TaskHandle == "" {
		return missingParam("TaskHandle")
	}
	s.tasks.mu.Lock()
	t := s.tasks.byHandle[in.TaskHandle]
	s.tasks.mu.Unlock()
	if t == nil || !strings.HasPrefix(t.vhostKey, c.p.vhost+"\x00") {
		return errResourceNotFound.With("Task does not exist.")
	}
	t.mu.Lock()
	if t.status != taskRunning {
		t.mu.Unlock()
		return errUnsupportedOperation.With("Only active tasks can be cancelled.")
	}
	t.status = taskCancelling
	moved := t.moved
	t.mu.Unlock()
	t.cancel()
	c.w.Begin("CancelMessageMoveTask", true)
	c.w.Int("ApproximateNumberOfMessagesMoved", moved)
	return nil
}
