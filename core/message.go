package core

import (
	"sync/atomic"
	"time"
)

// Delivery modes, as AMQP numbers them.
const (
	Transient  uint8 = 1
	Persistent uint8 = 2
)

// Properties are the canonical message properties: AMQP's basic properties.
// Other protocols map onto them (DESIGN §6); what has no field here travels in
// Headers under a reserved prefix.
type Properties struct {
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8 // Transient or Persistent; 0 reads as Transient
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string // per-message TTL in milliseconds, as a decimal string
	MessageID       string
	Timestamp       time.Time
	Type            string
	UserID          string
	AppID           string
}

// Message is a message as published. After Publish it is shared by every
// queue it was routed to and every delivery of it: nobody may modify it.
type Message struct {
	Exchange   string
	RoutingKey string
	Properties Properties
	Body       []byte

	// GroupID is the message group of a FIFO queue (SQS MessageGroupId).
	GroupID string
	// DedupID is the deduplication id for FIFO queues; empty means none (or
	// the body's SHA-256 where the queue has content-based deduplication).
	DedupID string
	// Delay keeps the message invisible for this long after it is enqueued.
	Delay time.Duration
	// Published is set by Publish.
	Published time.Time
}

// Persistent reports whether the message asks to survive a restart.
func (m *Message) Persistent() bool { return m.Properties.DeliveryMode == Persistent }

// size is what the message counts against byte limits (x-max-length-bytes,
// prefetch bytes): the body, as RabbitMQ counts it.
func (m *Message) size() int { return len(m.Body) }

// stored is the broker's record of one published message, shared by every
// queue entry that references it. A message routed to N queues is stored once.
type stored struct {
	id         uint64
	size       int
	persistent bool
	published  int64 // unix nanoseconds
	refs       atomic.Int32
	written    atomic.Bool             // PutMessage was issued: a delete must follow it
	onDisk     atomic.Bool             // PutMessage was committed: the body may leave memory
	msg        atomic.Pointer[Message] // nil once evicted: read back from the store
}
