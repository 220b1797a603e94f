package store

import (
	"errors"
	"slices"
)

// ErrNotFound is returned by Message when no message has the id.
var ErrNotFound = errors.New("store: not found")

// ErrClosed is returned (and passed to done callbacks) after Close.
var ErrClosed = errors.New("store: closed")

// Kind names a namespace of metadata records. Keys are unique within a kind.
type Kind uint8

// Metadata kinds. Values are persisted: never renumber.
const (
	KindVHost      Kind = 1
	KindUser       Kind = 2
	KindPermission Kind = 3
	KindExchange   Kind = 4
	KindQueue      Kind = 5
	KindBinding    Kind = 6
	KindSession    Kind = 7 // front-end session state (an MQTT persistent session)
	KindRetained   Kind = 8 // retained messages (MQTT), keyed by vhost and topic
	KindDedup      Kind = 9 // deduplication records of FIFO queues
)

// Store persists the broker's metadata and the messages of durable queues.
//
// Writes go through Commit, which never blocks on I/O: the batch is queued and
// a committer goroutine applies queued batches together, syncs once (group
// commit) and then calls each batch's done callback, in commit order. Batches
// are applied in the order Commit was called, so a caller that must order two
// writes (an entry's put before its delete) calls Commit in that order.
//
// Reads see every batch whose done callback has been called.
type Store interface {
	// Commit takes ownership of b and applies it atomically. done, if not nil,
	// is called exactly once, from the store's committer goroutine and never
	// from within Commit, with nil when b is durable or with the error that
	// prevented it.
	Commit(b *Batch, done func(error))
	// Flush waits until every batch committed before the call is durable.
	Flush() error

	// Message returns the data stored under id, or ErrNotFound.
	Message(id uint64) ([]byte, error)
	// LastMessageID returns the largest message id present, or 0.
	LastMessageID() (uint64, error)
	// ForEachMessageID calls fn for every stored message id, ascending.
	ForEachMessageID(fn func(id uint64) error) error
	// ForEachMeta calls fn for every record of kind k, ascending by key.
	ForEachMeta(k Kind, fn func(key string, value []byte) error) error
	// ForEachEntry calls fn for every entry of queue q, ascending by seq.
	ForEachEntry(q uint64, fn func(seq uint64, value []byte) error) error

	// Durable reports whether committed data survives a process crash.
	Durable() bool
	// Close flushes and releases the store. Later calls fail with ErrClosed.
	Close() error
}

// OpKind says what one operation of a Batch does.
type OpKind uint8

// Operations of a Batch.
const (
	OpPutMeta OpKind = iota + 1
	OpDeleteMeta
	OpPutMessage
	OpDeleteMessage
	OpPutEntry
	OpDeleteEntry
	OpDeleteQueue // every entry of Queue
)

// Op is one operation of a Batch.
type Op struct {
	Kind  OpKind
	Meta  Kind   // OpPutMeta, OpDeleteMeta
	Key   string // OpPutMeta, OpDeleteMeta
	ID    uint64 // message id (OpPutMessage, OpDeleteMessage)
	Queue uint64 // OpPutEntry, OpDeleteEntry, OpDeleteQueue
	Seq   uint64 // OpPutEntry, OpDeleteEntry
	Value []byte // OpPutMeta, OpPutMessage, OpPutEntry; not copied: do not modify after adding
}

// Batch is a list of writes applied atomically by Commit. The zero value is
// ready to use.
type Batch struct {
	Ops []Op
}

// PutMeta sets the record key of kind k.
func (b *Batch) PutMeta(k Kind, key string, value []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutMeta, Meta: k, Key: key, Value: value})
}

// DeleteMeta removes the record key of kind k.
func (b *Batch) DeleteMeta(k Kind, key string) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteMeta, Meta: k, Key: key})
}

// PutMessage stores a message's data under id.
func (b *Batch) PutMessage(id uint64, data []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutMessage, ID: id, Value: data})
}

// DeleteMessage removes the message id.
func (b *Batch) DeleteMessage(id uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteMessage, ID: id})
}

// PutEntry stores entry seq of queue q.
func (b *Batch) PutEntry(q, seq uint64, value []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutEntry, Queue: q, Seq: seq, Value: value})
}

// DeleteEntry removes entry seq of queue q.
func (b *Batch) DeleteEntry(q, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteEntry, Queue: q, Seq: seq})
}

// DeleteQueue removes every entry of queue q.
func (b *Batch) DeleteQueue(q uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteQueue, Queue: q})
}

// Grow makes room for n more operations, so a caller that knows how many it
// will add allocates once.
func (b *Batch) Grow(n int) { b.Ops = slices.Grow(b.Ops, n) }

// Len is the number of operations in b.
func (b *Batch) Len() int { return len(b.Ops) }
