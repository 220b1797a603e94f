package core

import (
	"slices"
	"time"
)

// deadLetter is a message leaving a queue for its dead-letter exchange.
type deadLetter struct {
	q      *Queue
	st     *stored
	e      *entry // nil when the message never entered the queue
	reason string // rejected, expired, maxlen, delivery_limit
	// republishOnly: the message was refused at the door (reject-publish-dlx);
	// there is no entry to release.
	republishOnly bool
}

// deadLetter republishes each message to its queue's dead-letter exchange with
// the x-death history RabbitMQ writes, then releases the source entry. The
// copy is written to the store before the source's delete, so a crash in
// between duplicates the message rather than losing it. Called without locks.
func (b *Broker) deadLetter(dls []deadLetter) {
	for _, dl := range dls {
		b.deadLetterOne(dl)
	}
}

func (b *Broker) deadLetterOne(dl deadLetter) {
	q := dl.q
	defer func() {
		if !dl.republishOnly {
			q.releaseEntry(dl.e, nil)
		}
	}()
	m, err := b.load(dl.st)
	if err != nil {
		b.log.Error("dead-letter: cannot read message", "queue", q.name, "err", err)
		return
	}
	now := b.clock.Now()
	dm := deadLettered(m, q, dl.reason, now)
	vh := q.vh
	var r routeSet
	vh.mu.RLock()
	x := vh.exchanges[q.cfg.dlx]
	if x != nil {
		x.routeLocked(dm, &r)
	}
	vh.mu.RUnlock()
	if x == nil {
		b.log.Warn("dead-letter exchange does not exist; message dropped", "queue", q.name, "vhost", vh.name, "dlx", q.cfg.dlx)
		return
	}
	targets := r.queues[:0:0]
	for _, t := range r.queues {
		if !deathCycle(dm, t.name) {
			targets = append(targets, t)
		}
	}
	if len(targets) > 0 {
		b.deliverRouted(dm, targets, -1, nil, now.UnixNano())
	}
}

// deathCycle reports RabbitMQ's cycle rule (mc:is_cycle_v2): a message
// dead-lettered into a queue it already died in, with no rejection since that
// death, would circle for ever and is dropped. x-death lists the newest death
// first, so the walk stops at the first rejection or the first death in queue.
func deathCycle(m *Message, queue string) bool {
	deaths, _ := m.Properties.Headers["x-death"].([]any)
	for _, d := range deaths {
		t, _ := d.(Table)
		if t == nil {
			continue
		}
		if r, _ := t["reason"].(string); r == "rejected" {
			return false
		}
		if qn, _ := t["queue"].(string); qn == queue {
			return true
		}
	}
	return false
}

// deadLettered returns the copy of m that goes to the dead-letter exchange:
// routing key replaced when the queue sets one, expiration removed (kept in
// x-death as original-expiration), x-death updated: the entry for (queue,
// reason) counted up and moved to the front, or a new one added there.
func deadLettered(m *Message, q *Queue, reason string, now time.Time) *Message {
	dm := *m
	dm.Properties.Headers = m.Properties.Headers.Clone()
	if dm.Properties.Headers == nil {
		dm.Properties.Headers = Table{}
	}
	h := dm.Properties.Headers
	dm.Properties.Expiration = ""
	dm.Exchange = q.cfg.dlx
	if q.cfg.hasDLRK {
		dm.RoutingKey = q.cfg.dlrk
	}
	dm.Delay = 0
	dm.Published = now
	deaths, _ := h["x-death"].([]any)
	deaths = slices.Clone(deaths)
	var entry Table
	for i, d := range deaths {
		t, _ := d.(Table)
		if t == nil {
			continue
		}
		if qn, _ := t["queue"].(string); qn != q.name {
			continue
		}
		if r, _ := t["reason"].(string); r != reason {
			continue
		}
		entry = t
		deaths = append(deaths[:i], deaths[i+1:]...)
		break
	}
	if entry == nil {
		// time is that of the first death for (queue, reason); a later one
		// only counts up, as in RabbitMQ.
		entry = Table{"count": int64(0), "reason": reason, "queue": q.name, "exchange": m.Exchange,
			"routing-keys": []any{m.RoutingKey}, "time": now.Truncate(time.Second)}
		if m.Properties.Expiration != "" {
			entry["original-expiration"] = m.Properties.Expiration
		}
	}
	n, _ := tableInt(entry["count"])
	entry["count"] = n + 1
	h["x-death"] = append([]any{entry}, deaths...)
	if _, ok := h["x-first-death-reason"]; !ok {
		h["x-first-death-reason"] = reason
		h["x-first-death-queue"] = q.name
		h["x-first-death-exchange"] = m.Exchange
	}
	h["x-last-death-reason"] = reason
	h["x-last-death-queue"] = q.name
	h["x-last-death-exchange"] = m.Exchange
	return &dm
}
