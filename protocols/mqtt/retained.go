package mqtt

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// Retained messages live in memory in one topic trie per vhost, so that
// exact and wildcard filters both find them [MQTT-3.3.1-9] (RabbitMQ sends
// none to wildcard subscribers), and in the broker's store as records of
// kind store.KindRetained keyed by vhost and topic, so that they survive a
// restart.

// retained is one retained message.
type retained struct {
	Topic   string             `json:"t"`
	QoS     byte               `json:"q"`
	Payload []byte             `json:"p"`
	Props   packets.Properties `json:"props"` // the MQTT 5 properties it was published with
	Created int64              `json:"c"`     // unix milliseconds
}

// expired reports whether the message's expiry interval has passed at now
// [MQTT-3.3.2-5].
func (r *retained) expired(now time.Time) bool {
	e := r.Props.MessageExpiryInterval
	return e > 0 && now.UnixMilli() >= r.Created+int64(e)*1000
}

// remaining is the expiry interval left at now, for the delivered copy.
func (r *retained) remaining(now time.Time) uint32 {
	e := r.Props.MessageExpiryInterval
	if e == 0 {
		return 0
	}
	left := r.Created + int64(e)*1000 - now.UnixMilli()
	return uint32(max((left+999)/1000, 1))
}

type retainNode struct {
	children map[string]*retainNode
	msg      *retained
}

// retainStore holds the retained messages of every vhost.
type retainStore struct {
	b  *core.Broker
	mu sync.RWMutex
	// roots by vhost
	roots map[string]*retainNode
	count int
}

func newRetainStore(b *core.Broker) *retainStore {
	return &retainStore{b: b, roots: map[string]*retainNode{}}
}

func retainedKey(vhost, topic string) string { return vhost + "\x00" + topic }

// load reads the retained messages from the store.
func (rs *retainStore) load() error {
	return rs.b.Records(store.KindRetained, func(key string, v []byte) error {
		vhost, _, ok := strings.Cut(key, "\x00")
		var r retained
		if !ok || json.Unmarshal(v, &r) != nil {
			return nil // an unreadable record is skipped, not fatal
		}
		rs.setMem(vhost, &r)
		return nil
	})
}

// set stores (payload not empty) or clears (empty payload) the retained
// message of r.Topic [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7]; done is
// called once the store has it.
func (rs *retainStore) set(vhost string, r *retained, done func(error)) {
	key := retainedKey(vhost, r.Topic)
	var value []byte
	if len(r.Payload) > 0 {
		var err error
		if value, err = json.Marshal(r); err != nil {
			done(err)
			return
		}
	}
	// Memory first, in the publisher's order; the store applies writes in
	// the order they are queued, so the last publish wins on disk too.
	rs.mu.Lock()
	rs.setMemLocked(vhost, r)
	err := rs.b.WriteRecord(store.KindRetained, key, value, done)
	rs.mu.Unlock()
	if err != nil {
		done(err)
	}
}

func (rs *retainStore) setMem(vhost string, r *retained) {
	rs.mu.Lock()
	rs.setMemLocked(vhost, r)
	rs.mu.Unlock()
}

func (rs *retainStore) setMemLocked(vhost string, r *retained) {
	root := rs.roots[vhost]
	if root == nil {
		if len(r.Payload) == 0 {
			return
		}
		root = &retainNode{}
		rs.roots[vhost] = root
	}
	path := []*retainNode{root}
	n := root
	for _, l := range strings.Split(r.Topic, "/") {
		c := n.children[l]
		if c == nil {
			if len(r.Payload) == 0 {
				return // nothing retained there
			}
			if n.children == nil {
				n.children = map[string]*retainNode{}
			}
			c = &retainNode{}
			n.children[l] = c
		}
		n = c
		path = append(path, n)
	}
	if len(r.Payload) > 0 {
		if n.msg == nil {
			rs.count++
		}
		n.msg = r
		return
	}
	if n.msg != nil {
		rs.count--
		n.msg = nil
	}
	// Prune the nodes left empty, leaf first.
	levels := strings.Split(r.Topic, "/")
	for i := len(path) - 1; i > 0; i-- {
		if path[i].msg != nil || len(path[i].children) > 0 {
			break
		}
		delete(path[i-1].children, levels[i-1])
	}
	if len(root.children) == 0 {
		delete(rs.roots, vhost)
	}
}

// match returns the unexpired retained messages of vhost that filter (not
// shared) matches.
func (rs *retainStore) match(vhost, filter string, now time.Time) []*retained {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	root := rs.roots[vhost]
	if root == nil {
		return nil
	}
	var out []*retained
	var walk func(n *retainNode, levels []string, first bool)
	walk = func(n *retainNode, levels []string, first bool) {
		if len(levels) == 0 {
			if n.msg != nil && !n.msg.expired(now) {
				out = append(out, n.msg)
			}
			return
		}
		switch l := levels[0]; l {
		case "#":
			// "#" matches the parent level too [MQTT-4.7.1-2], and a
			// wildcard first level no topic starting with '$' [MQTT-4.7.2-1].
			if !first && n.msg != nil && !n.msg.expired(now) {
				out = append(out, n.msg)
			}
			var all func(n *retainNode, first bool)
			all = func(n *retainNode, first bool) {
				for k, c := range n.children {
					if first && strings.HasPrefix(k, "$") {
						continue
					}
					if c.msg != nil && !c.msg.expired(now) {
						out = append(out, c.msg)
					}
					all(c, false)
				}
			}
			all(n, first)
		case "+":
			for k, c := range n.children {
				if first && strings.HasPrefix(k, "$") {
					continue
				}
				walk(c, levels[1:], false)
			}
		default:
			if c := n.children[l]; c != nil {
				walk(c, levels[1:], false)
			}
		}
	}
	walk(root, strings.Split(filter, "/"), true)
	return out
}

// len is the number of retained messages.
func (rs *retainStore) len() int {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	return rs.count
}
