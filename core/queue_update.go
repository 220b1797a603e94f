package core

import "sort"

// fixedArgs are the queue arguments SetQueueArguments cannot change: they
// shape the queue (its type, priority levels, single active consumer) or are
// read outside the queue's lock (dead-letter target, visibility timeout).
var fixedArgs = []string{ArgQueueType, ArgMaxPriority, ArgSingleActive, ArgDLX, ArgDLRK, ArgVisibility}

// SetQueueArguments replaces the arguments of the existing queue name, as a
// RabbitMQ policy changes a live queue: length limits, TTLs, expiry,
// retention, delivery delay and limit, deduplication, and arguments core does
// not interpret (a front-end keeps its own settings there, under its prefix,
// so that they persist with the queue). New values apply from now on;
// messages already queued keep the expiry and visibility they were given.
// The arguments of fixedArgs must be repeated unchanged. It needs configure
// permission on the queue.
func (s *Session) SetQueueArguments(name string, args Table) (QueueInfo, error) {
	c := s.conn
	vh := c.vh
	if err := c.checkQueue(permConfigure, name); err != nil {
		return QueueInfo{}, err
	}
	vh.mu.Lock()
	q := vh.queues[name]
	if q == nil {
		vh.mu.Unlock()
		return QueueInfo{}, errorf(NotFound, "no queue '%s' in vhost '%s'", name, vh.name)
	}
	if q.exclusive && q.owner != c {
		vh.mu.Unlock()
		return QueueInfo{}, lockedError(q)
	}
	cfg, err := parseQueueArgs(name, vh.name, args, q.durable, q.exclusive)
	if err != nil {
		vh.mu.Unlock()
		return QueueInfo{}, err
	}
	for _, k := range fixedArgs {
		a, hasA := args[k]
		b, hasB := q.args[k]
		if hasA != hasB || (hasA && !sameArg(a, b)) {
			vh.mu.Unlock()
			return QueueInfo{}, errorf(PreconditionFailed, "argument '%s' of queue '%s' in vhost '%s' cannot be changed",
				k, name, vh.name)
		}
	}
	q.mu.Lock()
	q.args = args.Clone()
	// Field by field: the fixed ones are read without q.mu.
	q.cfg.messageTTL = cfg.messageTTL
	q.cfg.expires = cfg.expires
	q.cfg.maxLength, q.cfg.maxBytes, q.cfg.overflow = cfg.maxLength, cfg.maxBytes, cfg.overflow
	q.cfg.deliveryLimit = cfg.deliveryLimit
	q.cfg.deliveryDelay, q.cfg.retention = cfg.deliveryDelay, cfg.retention
	q.cfg.contentDedup, q.cfg.dedupPerGroup, q.cfg.dedupWindow = cfg.contentDedup, cfg.dedupPerGroup, cfg.dedupWindow
	q.armLocked(0)
	q.mu.Unlock()
	done := vh.b.persistQueueLocked(q)
	vh.mu.Unlock()
	if err := done(); err != nil {
		return QueueInfo{}, err
	}
	return q.Info(), nil
}

// QueueNames lists the names of the vhost's queues, sorted.
func (vh *VHost) QueueNames() []string {
	vh.mu.RLock()
	out := make([]string, 0, len(vh.queues))
	for n := range vh.queues {
		out = append(out, n)
	}
	vh.mu.RUnlock()
	sort.Strings(out)
	return out
}
