package core

import (
	"container/heap"
	"fmt"

	"github.com/mqgate/mqgate/core/auth"
	"github.com/mqgate/mqgate/core/store"
)

// recover rebuilds the broker from its store: users and permissions, vhosts,
// exchanges, durable queues with their messages in order, bindings. Message
// bodies stay on disk until delivered. Messages no queue references (left by
// a crash between writes) are deleted.
func (b *Broker) recover() error {
	s := b.store
	err := s.ForEachMeta(store.KindUser, func(name string, v []byte) error {
		t, err := decodeTable(v)
		if err != nil {
			return err
		}
		var tags []string
		arr, _ := t["tags"].([]any)
		for _, x := range arr {
			if str, ok := x.(string); ok {
				tags = append(tags, str)
			}
		}
		return b.users.PutUser(auth.User{Name: name, PasswordHash: tableString(t, "hash"),
			Hashing: auth.Hashing(tableString(t, "hashing")), Tags: tags})
	})
	if err != nil {
		return fmt.Errorf("recover users: %w", err)
	}
	err = s.ForEachMeta(store.KindVHost, func(name string, _ []byte) error {
		b.vhosts[name] = newVHost(b, name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover vhosts: %w", err)
	}
	err = s.ForEachMeta(store.KindPermission, func(_ string, v []byte) error {
		t, err := decodeTable(v)
		if err != nil {
			return err
		}
		user, vhost := tableString(t, "user"), tableString(t, "vhost")
		if x, ok := t["exchange"]; ok {
			xs, _ := argString(x)
			return b.users.SetTopicPermission(user, vhost, auth.TopicPermission{Exchange: xs,
				Write: tableString(t, "write"), Read: tableString(t, "read")})
		}
		return b.users.SetPermission(user, vhost, auth.Permission{Configure: tableString(t, "configure"),
			Write: tableString(t, "write"), Read: tableString(t, "read")})
	})
	if err != nil {
		return fmt.Errorf("recover permissions: %w", err)
	}
	err = s.ForEachMeta(store.KindExchange, func(_ string, v []byte) error {
		t, err := decodeTable(v)
		if err != nil {
			return err
		}
		vh := b.vhosts[tableString(t, "vhost")]
		if vh == nil {
			return nil
		}
		name := tableString(t, "name")
		vh.exchanges[name] = newExchange(vh, name, tableString(t, "kind"), true, tableBool(t, "auto_delete"),
			tableBool(t, "internal"), tableTable(t, "args"))
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover exchanges: %w", err)
	}
	msgs := make(map[uint64]*stored)
	err = s.ForEachMeta(store.KindQueue, func(_ string, v []byte) error {
		return b.recoverQueue(v, msgs)
	})
	if err != nil {
		return fmt.Errorf("recover queues: %w", err)
	}
	byID := make(map[uint64]*Queue)
	for _, vh := range b.vhosts {
		for _, q := range vh.queues {
			byID[q.id] = q
		}
	}
	if err := b.recoverDedup(byID); err != nil {
		return fmt.Errorf("recover deduplication records: %w", err)
	}
	err = s.ForEachMeta(store.KindBinding, func(_ string, v []byte) error {
		t, err := decodeTable(v)
		if err != nil {
			return err
		}
		vh := b.vhosts[tableString(t, "vhost")]
		if vh == nil {
			return nil
		}
		src := vh.exchanges[tableString(t, "source")]
		var d destination
		if tableBool(t, "exchange") {
			d.x = vh.exchanges[tableString(t, "destination")]
		} else {
			d.q = vh.queues[tableString(t, "destination")]
		}
		if src == nil || (d.x == nil && d.q == nil) {
			return nil
		}
		src.addBindingLocked(&binding{src: src, dst: d, key: tableString(t, "key"), args: tableTable(t, "args")})
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover bindings: %w", err)
	}
	var orphans store.Batch
	err = s.ForEachMessageID(func(id uint64) error {
		if msgs[id] == nil {
			orphans.DeleteMessage(id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover messages: %w", err)
	}
	if orphans.Len() > 0 {
		if err := b.commitWait(&orphans); err != nil {
			return err
		}
	}
	last, err := s.LastMessageID()
	if err != nil {
		return err
	}
	b.msgSeq.Store(last)
	return nil
}

func (b *Broker) recoverQueue(v []byte, msgs map[uint64]*stored) error {
	t, err := decodeTable(v)
	if err != nil {
		return err
	}
	vh := b.vhosts[tableString(t, "vhost")]
	if vh == nil {
		return nil
	}
	name := tableString(t, "name")
	args := tableTable(t, "args")
	cfg, err := parseQueueArgs(name, vh.name, args, true, false)
	if err != nil {
		b.log.Warn("recovered queue has invalid arguments; using defaults", "queue", name, "err", err)
		cfg, _ = parseQueueArgs(name, vh.name, nil, true, false)
	}
	id, _ := tableInt(t["id"])
	q := vh.newQueueLocked(name, QueueOptions{Durable: true, AutoDelete: tableBool(t, "auto_delete"), Args: args}, cfg)
	q.id = uint64(id)
	if q.id > b.queueSeq.Load() {
		b.queueSeq.Store(q.id)
	}
	err = b.store.ForEachEntry(q.id, func(seq uint64, ev []byte) error {
		e, err := decodeEntry(seq, ev, msgs)
		if err != nil {
			return fmt.Errorf("queue %q entry %d: %w", name, seq, err)
		}
		// Whether it reached a consumer before the restart is unknown:
		// redelivered says so (at-least-once), as RabbitMQ does on recovery.
		e.recovered = true
		q.nextSeq = seq
		if e.visibleAt > 0 {
			q.delayed = append(q.delayed, e)
			e.idx = len(q.delayed) - 1
		} else {
			q.ready.push(e)
			q.readyBytes += int64(e.st.size)
		}
		return nil
	})
	if err != nil {
		return err
	}
	heap.Init(&q.delayed)
	q.armLocked(b.now())
	return nil
}
