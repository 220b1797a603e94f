package core

import (
	"strings"

	"github.com/mqgate/mqgate/core/store"
)

// Metadata keys: the vhost and names joined by NUL, which no name contains.

func metaKey(parts ...string) string { return strings.Join(parts, "\x00") }

func bindingKey(bd *binding) string {
	kind := "q"
	if bd.dst.x != nil {
		kind = "x"
	}
	return metaKey(bd.src.vh.name, bd.src.name, kind, bd.dst.name(), bd.key, string(encodeTable(bd.args)))
}

func encodeBinding(bd *binding) []byte {
	return encodeTable(Table{"vhost": bd.src.vh.name, "source": bd.src.name, "destination": bd.dst.name(),
		"exchange": bd.dst.x != nil, "key": bd.key, "args": nilTable(bd.args)})
}

func nilTable(t Table) Table {
	if t == nil {
		return Table{}
	}
	return t
}

// persistQueueLocked writes a durable queue's record (exclusive queues die
// with their connection and are never written). It returns a function that
// waits for the write; call it after releasing the lock.
func (b *Broker) persistQueueLocked(q *Queue) func() error {
	if !q.durable || q.exclusive {
		return func() error { return nil }
	}
	var batch store.Batch
	batch.PutMeta(store.KindQueue, metaKey(q.vh.name, q.name), encodeTable(Table{
		"vhost": q.vh.name, "name": q.name, "id": int64(q.id), "auto_delete": q.autoDelete,
		"args": nilTable(q.args)}))
	return b.commitAsync(&batch)
}

func (b *Broker) persistExchangeLocked(x *Exchange) func() error {
	if !x.durable {
		return func() error { return nil }
	}
	var batch store.Batch
	batch.PutMeta(store.KindExchange, metaKey(x.vh.name, x.name), encodeTable(Table{
		"vhost": x.vh.name, "name": x.name, "kind": x.kind, "auto_delete": x.autoDelete,
		"internal": x.internal, "args": nilTable(x.args)}))
	return b.commitAsync(&batch)
}

// commitAsync commits batch and returns a function waiting for it to be durable.
func (b *Broker) commitAsync(batch *store.Batch) func() error {
	if batch.Len() == 0 {
		return func() error { return nil }
	}
	ch := make(chan error, 1)
	b.store.Commit(batch, func(err error) { ch <- err })
	return func() error {
		if err := <-ch; err != nil {
			return &Error{Code: Internal, Msg: "store: " + err.Error()}
		}
		return nil
	}
}

// commitWait commits batch and waits until it is durable. Never call it
// holding a lock.
func (b *Broker) commitWait(batch *store.Batch) error { return b.commitAsync(batch)() }

// Entry records: what a queue needs to rebuild its index without reading the
// message bodies.
func encodeEntry(e *entry) []byte {
	enc := encoder{b: make([]byte, 0, 40+len(e.group))}
	enc.u8(codecVersion)
	enc.uvar(e.st.id)
	enc.uvar(uint64(e.st.size))
	enc.svar(e.st.published)
	enc.u8(e.priority)
	enc.svar(e.expires)
	enc.bool(e.ttlExpiry)
	enc.svar(e.visibleAt)
	enc.uvar(uint64(e.deliveries))
	enc.str(e.group)
	return enc.b
}

// decodeEntry rebuilds an entry; stored records are shared through msgs.
func decodeEntry(seq uint64, b []byte, msgs map[uint64]*stored) (*entry, error) {
	d := decoder{b: b}
	if d.u8() != codecVersion {
		return nil, errCorrupt
	}
	id := d.uvar()
	size := d.uvar()
	published := d.svar()
	e := &entry{seq: seq, idx: -1}
	e.priority = d.u8()
	e.expires = d.svar()
	e.ttlExpiry = d.bool()
	e.visibleAt = d.svar()
	e.deliveries = uint32(d.uvar())
	e.group = d.str()
	if d.err != nil {
		return nil, d.err
	}
	st := msgs[id]
	if st == nil {
		st = &stored{id: id, size: int(size), persistent: true, published: published}
		st.onDisk.Store(true)
		st.written.Store(true)
		msgs[id] = st
	}
	st.refs.Add(1)
	e.st = st
	return e, nil
}

// Users and permissions.

func (b *Broker) persistMeta(k store.Kind, key string, t Table) error {
	var batch store.Batch
	if t == nil {
		batch.DeleteMeta(k, key)
	} else {
		batch.PutMeta(k, key, encodeTable(t))
	}
	return b.commitWait(&batch)
}

func tableString(t Table, k string) string {
	s, _ := argString(t[k])
	return s
}

func tableBool(t Table, k string) bool {
	v, _ := t[k].(bool)
	return v
}

func tableTable(t Table, k string) Table {
	switch v := t[k].(type) {
	case Table:
		if len(v) == 0 {
			return nil
		}
		return v
	}
	return nil
}
