package core

import (
	"sync/atomic"

	"github.com/mqgate/mqgate/core/store"
)

// flowState is the memory watermark (DESIGN §3 "Flow control"): bytes of
// message bodies held in memory; above the watermark publishers are told to
// pause (AMQP connection.blocked, MQTT/STOMP stop reading, SQS throttles).
type flowState struct {
	mem     atomic.Int64
	blocked atomic.Bool
}

// Blocked reports whether publishers should pause.
func (b *Broker) Blocked() bool { return b.flow.blocked.Load() }

// MemoryInUse is the bytes of message bodies held in memory.
func (b *Broker) MemoryInUse() int64 { return b.flow.mem.Load() }

// hold counts a new message body in memory.
func (b *Broker) hold(st *stored) {
	if b.flow.mem.Add(int64(st.size)) > b.cfg.MemoryHighWatermark && b.cfg.MemoryHighWatermark > 0 {
		b.setBlocked(true)
	}
}

// forget drops st's body from memory once no queue references it.
func (b *Broker) forget(st *stored) {
	if st.msg.Swap(nil) != nil {
		b.release(int64(st.size))
	}
}

// unref drops one reference to st; the last one deletes the stored copy
// (into batch, which may be nil only when st was never written) and frees
// its memory.
func (b *Broker) unref(st *stored, batch *store.Batch) {
	if st.refs.Add(-1) != 0 {
		return
	}
	if st.written.Load() {
		batch.DeleteMessage(st.id)
	}
	b.forget(st)
}

// cacheBody is called once st is on disk: if bodies in memory exceed the
// cache budget, this one leaves memory and is read back when delivered, so a
// queue can hold more than RAM.
func (b *Broker) cacheBody(st *stored) {
	if b.flow.mem.Load() > b.cfg.BodyCacheBytes && st.msg.Swap(nil) != nil {
		b.release(int64(st.size))
	}
}

func (b *Broker) release(n int64) {
	if b.flow.mem.Add(-n) <= b.cfg.MemoryHighWatermark && b.flow.blocked.Load() {
		b.setBlocked(false)
	}
}

// setBlocked changes the flow state and tells every connection that asked.
func (b *Broker) setBlocked(v bool) {
	if b.flow.blocked.Swap(v) == v {
		return
	}
	b.mu.Lock()
	var notify []func(bool)
	for c := range b.conns {
		if c.opts.Blocked != nil {
			notify = append(notify, c.opts.Blocked)
		}
	}
	b.mu.Unlock()
	for _, f := range notify {
		f(v)
	}
}
