package core

import (
	"github.com/mqgate/mqgate/core/route"
)

// Exchange kinds.
const (
	KindDirect  = "direct"
	KindFanout  = "fanout"
	KindTopic   = "topic"
	KindHeaders = "headers"
)

// ArgAlternateExchange names the exchange that gets what this one cannot route.
const ArgAlternateExchange = "alternate-exchange"

// topicCacheEntries bounds each topic exchange's match cache.
const topicCacheEntries = 4096

// Exchange routes messages to queues and exchanges. Its bindings are guarded
// by the vhost's lock.
type Exchange struct {
	vh         *VHost
	name       string
	kind       string
	durable    bool
	autoDelete bool
	internal   bool
	args       Table
	alternate  string

	bindings []*binding // from this exchange
	boundTo  []*binding // to this exchange (exchange-to-exchange)
	direct   map[string][]destination
	fanout   []destination
	topic    *route.Topic[destination]
	headers  []*binding
}

// destination is a queue or an exchange.
type destination struct {
	q *Queue
	x *Exchange
}

func (d destination) name() string {
	if d.q != nil {
		return d.q.name
	}
	return d.x.name
}

// binding is one edge of the routing graph.
type binding struct {
	src  *Exchange
	dst  destination
	key  string
	args Table
}

// Name is the exchange's name ("" for the default exchange).
func (x *Exchange) Name() string { return x.name }

// Kind is the exchange type.
func (x *Exchange) Kind() string { return x.kind }

func validKind(k string) bool {
	switch k {
	case KindDirect, KindFanout, KindTopic, KindHeaders:
		return true
	}
	return false
}

func newExchange(vh *VHost, name, kind string, durable, autoDelete, internal bool, args Table) *Exchange {
	x := &Exchange{vh: vh, name: name, kind: kind, durable: durable, autoDelete: autoDelete,
		internal: internal, args: args}
	if ae, ok := argString(args[ArgAlternateExchange]); ok {
		x.alternate = ae
	}
	switch kind {
	case KindDirect:
		x.direct = make(map[string][]destination)
	case KindTopic:
		x.topic = route.NewTopic[destination](topicCacheEntries)
	}
	return x
}

// same reports whether b binds dst with key and args.
func (b *binding) same(dst destination, key string, args Table) bool {
	return b.dst == dst && b.key == key && tablesEqual(b.args, args)
}

func tablesEqual(a, b Table) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !sameArg(v, w) {
			return false
		}
	}
	return true
}

// addBindingLocked adds b to the routing structures of its source. The caller
// holds the vhost's write lock.
func (x *Exchange) addBindingLocked(b *binding) {
	x.bindings = append(x.bindings, b)
	switch x.kind {
	case KindDirect:
		x.direct[b.key] = append(x.direct[b.key], b.dst)
	case KindFanout:
		x.fanout = append(x.fanout, b.dst)
	case KindTopic:
		x.topic.Add(b.key, b.dst)
	case KindHeaders:
		x.headers = append(x.headers, b)
	}
	if b.dst.q != nil {
		b.dst.q.bindings = append(b.dst.q.bindings, b)
	} else {
		b.dst.x.boundTo = append(b.dst.x.boundTo, b)
	}
}

// removeBindingLocked undoes addBindingLocked.
func (x *Exchange) removeBindingLocked(b *binding) {
	x.bindings = removeBinding(x.bindings, b)
	switch x.kind {
	case KindDirect:
		ds := x.direct[b.key]
		for i, d := range ds {
			if d == b.dst {
				ds = append(ds[:i], ds[i+1:]...)
				break
			}
		}
		if len(ds) == 0 {
			delete(x.direct, b.key)
		} else {
			x.direct[b.key] = ds
		}
	case KindFanout:
		for i, d := range x.fanout {
			if d == b.dst {
				x.fanout = append(x.fanout[:i], x.fanout[i+1:]...)
				break
			}
		}
	case KindTopic:
		// Two bindings may share (key, destination) with different args;
		// the trie holds the pair once while any of them is left.
		still := false
		for _, o := range x.bindings {
			if o.dst == b.dst && o.key == b.key {
				still = true
			}
		}
		if !still {
			x.topic.Remove(b.key, b.dst)
		}
	case KindHeaders:
		x.headers = removeBinding(x.headers, b)
	}
	if b.dst.q != nil {
		b.dst.q.bindings = removeBinding(b.dst.q.bindings, b)
	} else {
		b.dst.x.boundTo = removeBinding(b.dst.x.boundTo, b)
	}
}

func removeBinding(bs []*binding, b *binding) []*binding {
	for i, o := range bs {
		if o == b {
			return append(bs[:i], bs[i+1:]...)
		}
	}
	return bs
}

// routeSet collects the queues a message goes to, each once.
type routeSet struct {
	queues  []*Queue
	seen    map[*Queue]struct{}
	visited []*Exchange
}

func (r *routeSet) addQueue(q *Queue) {
	if len(r.queues) < 16 && r.seen == nil {
		for _, o := range r.queues {
			if o == q {
				return
			}
		}
		r.queues = append(r.queues, q)
		return
	}
	if r.seen == nil {
		r.seen = make(map[*Queue]struct{}, 32)
		for _, o := range r.queues {
			r.seen[o] = struct{}{}
		}
	}
	if _, ok := r.seen[q]; !ok {
		r.seen[q] = struct{}{}
		r.queues = append(r.queues, q)
	}
}

// routeLocked adds to r every queue x routes m to, following exchange-to-
// exchange bindings once each, and the alternate exchange when x routes the
// message nowhere. The caller holds the vhost's read lock.
func (x *Exchange) routeLocked(m *Message, r *routeSet) {
	for _, v := range r.visited {
		if v == x {
			return
		}
	}
	r.visited = append(r.visited, x)
	before := len(r.queues)
	visit := func(d destination) {
		if d.q != nil {
			r.addQueue(d.q)
		} else {
			d.x.routeLocked(m, r)
		}
	}
	switch {
	case x.name == "":
		if q := x.vh.queues[m.RoutingKey]; q != nil {
			r.addQueue(q)
		}
	case x.kind == KindDirect:
		for _, d := range x.direct[m.RoutingKey] {
			visit(d)
		}
	case x.kind == KindFanout:
		for _, d := range x.fanout {
			visit(d)
		}
	case x.kind == KindTopic:
		x.topic.Match(m.RoutingKey, visit)
	case x.kind == KindHeaders:
		for _, b := range x.headers {
			if route.MatchHeaders(b.args, m.Properties.Headers) {
				visit(b.dst)
			}
		}
	}
	if len(r.queues) == before && x.alternate != "" {
		if ae := x.vh.exchanges[x.alternate]; ae != nil {
			ae.routeLocked(m, r)
		}
	}
}
