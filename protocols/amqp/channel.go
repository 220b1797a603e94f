package amqp

import (
	"log/slog"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// channel is one AMQP channel: a core.Session. The reader owns its
// protocol state; the fields under "guarded by c.mu" are shared with the
// writer (confirms) and with core's goroutines (consumers' sinks).
type channel struct {
	id   uint16
	c    *conn
	sess *core.Session

	// Reader only.
	closing    bool // channel.close sent by the server; waiting for close-ok
	assembly   assembly
	lastQueue  string // the most recently declared queue, for empty names
	prefetch   int    // basic.qos global=false: the next consumers' credit
	confirming bool
	nextSeq    uint64 // publish sequence number in confirm mode
	tx         *txState

	// Guarded by c.mu.
	closed     bool // deliveries and confirms stop
	flowPaused bool // channel.flow active=false
	hold       hold // deliveries held during basic.consume and basic.get
	consumers  map[string]*consumer
	reply      *replyConsumer // direct reply-to
	conf       confirms
}

// assembly is the content being received (AMQP 0-9-1 §4.2.6): a
// basic.publish method frame, then a content header, then body frames.
type assembly struct {
	state    uint8 // expectMethod, expectHeader or expectBody
	method   *wire.BasicPublish
	props    wire.Properties
	bodySize uint64
	body     []byte
}

const (
	expectMethod uint8 = iota
	expectHeader
	expectBody
)

// bodyPrealloc caps what a content header makes us allocate before the body
// arrives: a client may announce more than it sends.
const bodyPrealloc = 1 << 20

type channelHandler func(ch *channel, m wire.Method) error

// openChannel handles the first frame on a channel id that is not open:
// it must be channel.open (RabbitMQ: "expected 'channel.open'").
func (c *conn) openChannel(f wire.Frame) error {
	if f.Type != wire.FrameMethod {
		return errorf(wire.ReplyChannelError, "expected 'channel.open'")
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return err
	}
	if _, ok := m.(*wire.ChannelOpen); !ok {
		return withMethod(errorf(wire.ReplyChannelError, "expected 'channel.open'"), m)
	}
	sess, err := c.core.OpenSession()
	if err != nil {
		return withMethod(fromCore(err, m), m)
	}
	ch := &channel{id: f.Channel, c: c, sess: sess, consumers: make(map[string]*consumer)}
	ch.conf.init()
	c.channels[f.Channel] = ch
	c.send(ch.id, &wire.ChannelOpenOk{})
	return nil
}

// handleFrame handles a frame on an open channel.
func (ch *channel) handleFrame(f wire.Frame) error {
	if ch.closing {
		return ch.handleFrameWhileClosing(f)
	}
	a := &ch.assembly
	switch f.Type {
	case wire.FrameMethod:
		if a.state != expectMethod {
			return errorf(wire.ReplyUnexpectedFrame, "expected content %s, got a method frame", a.expecting())
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			return err
		}
		return ch.handleMethod(m)
	case wire.FrameHeader:
		if a.state != expectHeader {
			return errorf(wire.ReplyUnexpectedFrame, "content header frame without a content method")
		}
		return ch.handleContentHeader(f.Payload)
	case wire.FrameBody:
		if a.state != expectBody {
			return errorf(wire.ReplyUnexpectedFrame, "content body frame without a content header")
		}
		return ch.handleContentBody(f.Payload)
	}
	return errorf(wire.ReplyUnexpectedFrame, "frame of type %d on channel %d", f.Type, ch.id)
}

func (a *assembly) expecting() string {
	if a.state == expectHeader {
		return "header"
	}
	return "body"
}

func (ch *channel) handleMethod(m wire.Method) error {
	h, ok := channelMethods[methodKey(m)]
	if !ok {
		return withMethod(errorf(wire.ReplyCommandInvalid, "unimplemented method %s", m.Name()), m)
	}
	if err := h(ch, m); err != nil {
		return fromCore(err, m)
	}
	return nil
}

// handleContentHeader checks the header against the method it follows.
func (ch *channel) handleContentHeader(p []byte) error {
	a := &ch.assembly
	var h wire.ContentHeader
	if err := h.Decode(p); err != nil {
		return err
	}
	if h.Weight != 0 {
		return errorf(wire.ReplyUnexpectedFrame, "content header weight %d, must be 0", h.Weight)
	}
	if max := ch.c.srv.cfg.MaxMessageSize; h.BodySize > max {
		m := a.method
		*a = assembly{}
		return withMethod(errorf(wire.ReplyPreconditionFailed, "message size %d is larger than configured max size %d",
			h.BodySize, max), m)
	}
	a.props, a.bodySize = h.Properties, h.BodySize
	if h.BodySize == 0 {
		return ch.completeContent()
	}
	a.body = make([]byte, 0, min(h.BodySize, bodyPrealloc))
	a.state = expectBody
	return nil
}

func (ch *channel) handleContentBody(p []byte) error {
	a := &ch.assembly
	if uint64(len(a.body))+uint64(len(p)) > a.bodySize {
		return errorf(wire.ReplyUnexpectedFrame, "content body of more than the %d octets announced", a.bodySize)
	}
	a.body = append(a.body, p...)
	if uint64(len(a.body)) == a.bodySize {
		return ch.completeContent()
	}
	return nil
}

func (ch *channel) completeContent() error {
	a := &ch.assembly
	m, props, body := a.method, a.props, a.body
	*a = assembly{}
	if err := ch.publish(m, &props, body); err != nil {
		return fromCore(err, m)
	}
	return nil
}

// handleFrameWhileClosing: after sending channel.close, AMQP 0-9-1 §2.2.4
// says to discard every frame but channel.close and close-ok.
func (ch *channel) handleFrameWhileClosing(f wire.Frame) error {
	if f.Type != wire.FrameMethod {
		return nil
	}
	m, err := wire.DecodeMethod(f.Payload)
	if err != nil {
		return err
	}
	switch m.(type) {
	case *wire.ChannelCloseOk:
		delete(ch.c.channels, ch.id)
	case *wire.ChannelClose:
		ch.c.send(ch.id, &wire.ChannelCloseOk{})
	}
	return nil
}

// closeWithError raises a channel exception: the session ends (its
// deliveries requeued) and channel.close goes out; the channel id stays
// taken until the client's close-ok.
func (ch *channel) closeWithError(e *amqpError) {
	ch.c.logClient(slog.LevelInfo, "closing channel with an error", "channel", ch.id, "code", e.code, "text", e.text)
	ch.release()
	ch.closing = true
	ch.c.send(ch.id, &wire.ChannelClose{ReplyCode: e.code, ReplyText: replyText(e.code, e.text),
		FailingClassID: e.classID, FailingMethodID: e.methodID})
}

// release ends the channel's session: no delivery or confirm goes out
// after it, consumers are cancelled and unsettled deliveries requeued.
func (ch *channel) release() {
	c := ch.c
	c.mu.Lock()
	if ch.closed {
		c.mu.Unlock()
		return
	}
	ch.closed = true
	reply := ch.reply
	ch.reply = nil
	c.mu.Unlock()
	if reply != nil {
		c.srv.replies.remove(reply)
	}
	ch.tx = nil
	ch.assembly = assembly{}
	ch.sess.Close()
}

// The channel class.

func (ch *channel) handleChannelOpen(m wire.Method) error {
	return errorf(wire.ReplyChannelError, "second 'channel.open' seen")
}

func (ch *channel) handleChannelClose(m wire.Method) error {
	ch.release()
	delete(ch.c.channels, ch.id)
	ch.c.send(ch.id, &wire.ChannelCloseOk{})
	return nil
}

// handleChannelCloseOk: a close-ok for a close we did not send is ignored.
func (ch *channel) handleChannelCloseOk(wire.Method) error { return nil }

// handleChannelFlow pauses (active=false) or resumes deliveries to the
// channel's consumers. RabbitMQ refuses active=false; honouring it costs
// nothing here, since a refusing sink leaves messages in their queues.
func (ch *channel) handleChannelFlow(m wire.Method) error {
	active := m.(*wire.ChannelFlow).Active
	c := ch.c
	c.mu.Lock()
	ch.flowPaused = !active
	var resume []*consumer
	if active {
		resume = ch.refusedLocked()
	}
	c.sendLocked(ch.id, &wire.ChannelFlowOk{Active: active})
	c.mu.Unlock()
	resumeAll(resume)
	return nil
}

// handleChannelFlowOk answers a channel.flow the server never sends; it is
// accepted and ignored.
func (ch *channel) handleChannelFlowOk(wire.Method) error { return nil }
