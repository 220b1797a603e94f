package core

import (
	"sort"
	"strconv"
	"strings"

	"github.com/mqgate/mqgate/core/store"
)

// A durable FIFO queue's deduplication records are stored, so that a producer
// retrying a send across a restart of the broker (the very case
// deduplication exists for) is still deduplicated. Keys are the queue's id
// and the dedup key; records whose window has passed are deleted as the
// window moves and at recovery.

func dedupMetaKey(q *Queue, key string) string {
	return strconv.FormatUint(q.id, 10) + "\x00" + key
}

// persistDedupLocked writes record r of key (durable queues on a durable store).
func (q *Queue) persistDedupLocked(key string, r dedupRecord) {
	if !q.durable || !q.vh.b.durable {
		return
	}
	var batch store.Batch
	batch.PutMeta(store.KindDedup, dedupMetaKey(q, key), encodeTable(Table{
		"until": r.until, "message_id": r.messageID, "seq": int64(r.seq)}))
	q.vh.b.store.Commit(&batch, nil)
}

// expireDedupLocked forgets records whose window has passed, in memory and
// in the store.
func (q *Queue) expireDedupLocked(now int64) {
	var batch *store.Batch
	persist := q.durable && q.vh.b.durable
	q.dedup.expire(now, func(key string) {
		if !persist {
			return
		}
		if batch == nil {
			batch = new(store.Batch)
		}
		batch.DeleteMeta(store.KindDedup, dedupMetaKey(q, key))
	})
	if batch != nil {
		q.vh.b.store.Commit(batch, nil)
	}
}

// recoverDedup loads the stored deduplication records into their queues and
// deletes those that expired or whose queue is gone.
func (b *Broker) recoverDedup(byID map[uint64]*Queue) error {
	now := b.now()
	var gone store.Batch
	err := b.store.ForEachMeta(store.KindDedup, func(k string, v []byte) error {
		idS, key, _ := strings.Cut(k, "\x00")
		id, _ := strconv.ParseUint(idS, 10, 64)
		t, err := decodeTable(v)
		q := byID[id]
		if err != nil || q == nil {
			gone.DeleteMeta(store.KindDedup, k)
			return nil
		}
		until, _ := tableInt(t["until"])
		seq, _ := tableInt(t["seq"])
		if until <= now {
			gone.DeleteMeta(store.KindDedup, k)
			return nil
		}
		q.dedup.add(key, dedupRecord{until: until, messageID: tableString(t, "message_id"), seq: uint64(seq)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, q := range byID {
		// expire walks the records oldest first.
		sort.Slice(q.dedup.order, func(i, j int) bool { return q.dedup.order[i].until < q.dedup.order[j].until })
	}
	if gone.Len() > 0 {
		return b.commitWait(&gone)
	}
	return nil
}
