package mqtt

import (
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

// session is an MQTT session: the subscriptions of one client identifier in
// one vhost, the core session that consumes them, the deliveries waiting for
// the client and those it has not acknowledged. A persistent session
// (MQTT 3 clean session 0, MQTT 5 session expiry > 0) outlives its
// connections until it expires; its queues are durable and its record is in
// the store, so that it also outlives a restart.
//
// Locks: life serialises the session's lifecycle (establish, disconnect,
// subscribe, expiry) and may be held while calling core. mu guards the
// fields below it and is taken by core's Sink calls, so core is never called
// holding mu.
type session struct {
	srv      *Server
	key      string
	vhost    string
	clientID string

	life sync.Mutex
	// guarded by life
	user       string
	coreConn   *core.Connection // nil until a client attaches after a restart
	cs         *core.Session
	persistent bool
	protocol   byte
	expiry     uint32 // seconds, after disconnection
	owner      *conn  // the connection that last established the session
	queues     [2]sessionQueue
	recorded   bool // a record is in the store
	will       *will
	willTimer  *time.Timer
	// offlineSince is when the session's last connection ended (unix
	// milliseconds), as its record keeps it.
	offlineSince int64
	expTimer     *time.Timer
	fresh        bool // created by this CONNECT: Session Present is 0

	mu        sync.Mutex
	cur       *conn // attached connection: deliveries go to it
	ended     bool
	subs      map[string]*subscription // by filter as subscribed
	pending   []item                   // accepted from core, not yet written
	pending0  int                      // of which from no-ack (QoS 0) consumers
	out       map[uint16]*outMsg       // QoS 1/2 deliveries the client has not completed
	outList   []*outMsg                // the same, in the order sent (nil holes)
	nextPID   uint16
	inQoS2    map[uint16]*ack // inbound QoS 2 packet ids before PUBREL: the ack still to be written, nil once written
	recentRel pidRing         // inbound QoS 2 packet ids whose PUBREL came
}

// sessionQueue is one of a session's two queues: QoS 0 subscriptions are
// bound from the first, consumed without acknowledgement; QoS 1 and 2 ones
// from the second, consumed with credit.
type sessionQueue struct {
	name     string
	declared bool
	src      *source
}

func newSession(srv *Server, key, vhost, clientID string) *session {
	return &session{srv: srv, key: key, vhost: vhost, clientID: clientID, subs: map[string]*subscription{},
		out: map[uint16]*outMsg{}, inQoS2: map[uint16]*ack{}}
}

// restore fills a session loaded from its record.
func (s *session) restore(r *sessionRecord) {
	s.user, s.protocol, s.expiry, s.persistent, s.recorded = r.User, r.Protocol, r.Expiry, true, true
	if w := r.Will; w != nil {
		s.will = &will{user: w.User, delay: w.Delay, msg: appMsg{topic: w.Topic, qos: w.QoS, retain: w.Retain,
			payload: w.Payload, props: w.Props}}
	}
	for _, sr := range r.Subs {
		sub := newSubscription(sr.Filter, sr.QoS, sr.NoLocal, sr.RetainAsPublished, sr.RetainHandling, sr.ID)
		s.placeSub(sub)
		s.subs[sub.filter] = sub
	}
}

// sessionFor returns the live session of key, creating a fresh one, with
// its life lock held.
func (srv *Server) sessionFor(c *conn) *session {
	for {
		srv.mu.Lock()
		s := srv.sessions[c.key]
		if s == nil {
			s = newSession(srv, c.key, c.vhost, c.clientID)
			s.fresh = true
			srv.sessions[c.key] = s
		}
		srv.mu.Unlock()
		s.life.Lock()
		s.mu.Lock()
		ended := s.ended
		s.mu.Unlock()
		if !ended {
			return s
		}
		s.life.Unlock()
	}
}

// establish attaches c's CONNECT to its session before the CONNACK: it
// takes the session over from another connection, or ends it for a clean
// start, and decides Session Present.
func (c *conn) establish(clean bool) {
	srv := c.srv
	s := srv.sessionFor(c)
	if clean && !s.fresh {
		s.end(true) // [MQTT-3.1.2-4]: discard it; its pending will is due now
		s.life.Unlock()
		s = srv.sessionFor(c)
	}
	defer s.life.Unlock()
	present := !s.fresh
	s.fresh = false
	if old := s.detach(); old != nil {
		// mochi is about to take old over and would copy and resend its
		// in-flight packets; they are this package's to resend.
		for _, p := range old.cl.State.Inflight.GetAll(false) {
			old.cl.State.Inflight.Delete(p.PacketID)
		}
	}
	s.stopTimers()
	s.will = nil // a delayed will is not sent when the session resumes [MQTT-3.1.3-9]
	if s.coreConn != nil && s.user != c.user {
		// Another user resumes the session: its deliveries go back to the
		// queues and come again through the new user's core session.
		s.closeCore()
	}
	if s.coreConn == nil {
		cs, err := c.core.OpenSession()
		if err != nil {
			c.log.Error("mqtt: open core session", "err", err)
			c.core.Close()
			c.core = nil
			c.cl.Stop(err)
			return
		}
		s.coreConn, s.cs, s.user = c.core, cs, c.user
	} else {
		c.core.Close()
	}
	c.core = nil
	c.sess = s
	s.owner = c
	s.protocol = c.cl.Properties.ProtocolVersion
	s.persistent = !c.expiresOnDisconnect()
	s.expiry = c.srv.cfg.sessionExpiryCap()
	if c.v5 {
		s.expiry = min(c.cl.Properties.Props.SessionExpiryInterval, s.expiry)
	}
	c.sessionPresent = present
	if s.persistent {
		s.save(0)
	}
}

// established starts the session on c after the CONNACK: resends what the
// client has not acknowledged, in order [MQTT-4.4.0-1], and (re)starts the
// consumers.
func (c *conn) established() {
	s := c.sess
	if s == nil {
		return
	}
	s.life.Lock()
	defer s.life.Unlock()
	if s.owner != c {
		return // another connection took the session meanwhile
	}
	s.mu.Lock()
	s.cur = c
	resend := make([]*outMsg, 0, len(s.out))
	for _, om := range s.outList {
		if om != nil {
			resend = append(resend, om)
		}
	}
	var rel []uint16
	for pid, a := range s.inQoS2 {
		if a == nil {
			rel = append(rel, pid)
		}
	}
	s.mu.Unlock()
	// Inbound QoS 2 messages acknowledged by PUBREC on an earlier connection
	// wait for their PUBREL; mochi answers it from its in-flight list.
	for _, pid := range rel {
		c.cl.State.Inflight.Set(pubrecPacket(pid))
	}
	c.resend(resend)
	if s.cs != nil {
		s.cs.SetPrefetch(c.credit)
		s.startConsumers()
	}
	c.kick()
}

// detach takes the session's connection away and returns it.
func (s *session) detach() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur
	s.cur = nil
	return old
}

// disconnected ends c: a session that expires with it ends too; a
// persistent one goes offline, its expiry (and any delayed will) running.
// It runs once per connection.
func (c *conn) disconnected(err error, expire bool) {
	if c.gone.Swap(true) {
		return
	}
	srv := c.srv
	srv.conns.Delete(c.nc)
	c.acks.close()
	if c.core != nil {
		c.core.Close()
		c.core = nil
	}
	s := c.sess
	if s == nil {
		return
	}
	s.life.Lock()
	defer s.life.Unlock()
	willDue := c.will != nil && !c.shutdown.Load() && (err != nil || c.abnormal.Load())
	if s.owner != c {
		// Taken over: the session goes on with the new connection, so only
		// an undelayed will is sent [MQTT-3.1.3-9].
		if willDue && (c.will.delay == 0 || s.isEnded()) {
			s.publishWill(c.will)
		}
		return
	}
	s.owner = nil
	if s.cur == c {
		s.detach()
	}
	if c.v5 {
		s.expiry = min(c.cl.Properties.Props.SessionExpiryInterval, srv.cfg.sessionExpiryCap())
	}
	if expire || !s.persistent || s.expiry == 0 {
		if willDue {
			s.publishWill(c.will) // the session ends now, so the will is due now [MQTT-3.1.2-8]
		}
		s.end(false)
		return
	}
	srv.forgetClient(c.cl)
	if willDue && c.will.delay > 0 {
		s.will = c.will // in the record, so that a restart keeps it
	}
	s.offlineSince = time.Now().UnixMilli()
	s.saveAsync(s.offlineSince)
	if srv.isClosed() {
		return // no timers: the process is stopping, the record keeps the time
	}
	if willDue && c.will.delay == 0 {
		s.publishWill(c.will)
	}
	if s.will != nil {
		s.armWill(time.Duration(min(s.will.delay, s.expiry)) * time.Second)
	}
	s.armExpiry(time.Duration(s.expiry) * time.Second)
}

// armWill publishes the session's delayed will after d.
func (s *session) armWill(d time.Duration) {
	s.willTimer = time.AfterFunc(max(d, 0), s.willDelayPassed)
}

// armExpiry ends the offline session after d.
func (s *session) armExpiry(d time.Duration) {
	s.expTimer = time.AfterFunc(max(d, 0), s.expired)
}

// stopTimers stops the expiry and will timers.
func (s *session) stopTimers() {
	if s.expTimer != nil {
		s.expTimer.Stop()
		s.expTimer = nil
	}
	if s.willTimer != nil {
		s.willTimer.Stop()
		s.willTimer = nil
	}
}

// expired ends a session whose expiry interval passed while it was offline;
// a will still delayed is sent now [MQTT-3.1.2-8].
func (s *session) expired() {
	if s.srv.isClosed() {
		return
	}
	s.life.Lock()
	defer s.life.Unlock()
	if s.owner != nil || s.isEnded() {
		return
	}
	s.end(true)
}

// willDelayPassed sends the delayed will of an offline session.
func (s *session) willDelayPassed() {
	if s.srv.isClosed() {
		return
	}
	s.life.Lock()
	defer s.life.Unlock()
	if s.owner != nil || s.will == nil || s.isEnded() {
		return
	}
	w := s.will
	s.will = nil
	s.publishWill(w)
	// Published at least once: a crash before this write publishes it again.
	s.saveAsync(s.offlineSince)
}

func (s *session) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// end discards the session: its queues, its bindings, its record. With
// sendWill, a will still waiting for its delay is published first. The
// caller holds life.
func (s *session) end(sendWill bool) {
	srv := s.srv
	s.stopTimers()
	if sendWill && s.will != nil {
		s.publishWill(s.will)
	}
	s.will = nil
	srv.mu.Lock()
	if srv.sessions[s.key] == s {
		delete(srv.sessions, s.key)
	}
	srv.mu.Unlock()
	s.owner = nil
	s.mu.Lock()
	s.ended = true
	s.pending, s.pending0 = nil, 0
	subs := s.subs
	s.subs = map[string]*subscription{}
	s.out, s.outList, s.inQoS2 = map[uint16]*outMsg{}, nil, map[uint16]*ack{}
	s.mu.Unlock()
	cs, admin := s.cs, false
	if cs == nil && (len(subs) > 0 || s.persistent) {
		cs, admin = s.adminSession(s.user), true
	}
	if cs != nil {
		for _, sub := range subs {
			if sub.group != "" {
				srv.leaveShared(cs, s.vhost, sub.queue)
			}
		}
		for i := range s.queues {
			if name := queueName(s.clientID, i); name != "" {
				if _, err := cs.DeleteQueue(name, core.DeleteQueueOptions{}); err != nil {
					srv.log.Warn("mqtt: delete session queue", "queue", name, "err", err)
				}
			}
		}
	}
	s.closeCore()
	if admin && cs != nil {
		cs.Connection().Close()
	}
	if s.recorded {
		if err := srv.b.DeleteRecord(store.KindSession, s.key); err != nil {
			srv.log.Error("mqtt: delete session record", "client", s.clientID, "err", err)
		}
		s.recorded = false
	}
}

// adminSession opens a core session as user, to clean up a session restored
// from the store that no client came back to, or to publish a will after
// the session's own core session is gone.
func (s *session) adminSession(user string) *core.Session {
	cc, err := s.srv.b.Connect(user, s.vhost, core.ConnectOptions{Name: "mqtt session", ClientID: s.clientID})
	if err != nil {
		s.srv.log.Warn("mqtt: cannot clean up expired session", "client", s.clientID, "err", err)
		return nil
	}
	cs, err := cc.OpenSession()
	if err != nil {
		cc.Close()
		return nil
	}
	return cs
}

// closeCore closes the session's core connection: its unsettled deliveries
// go back to their queues, its exclusive queues go away.
func (s *session) closeCore() {
	if s.coreConn != nil {
		s.coreConn.Close()
	}
	s.coreConn, s.cs = nil, nil
	s.mu.Lock()
	s.pending, s.pending0 = nil, 0
	s.out, s.outList = map[uint16]*outMsg{}, nil
	s.mu.Unlock()
	for i := range s.queues {
		s.queues[i].declared, s.queues[i].src = false, nil
	}
	for _, sub := range s.subs {
		sub.src = nil
	}
}

// save writes the session's record and waits until it is durable;
// disconnected is when it went offline (unix milliseconds), 0 while
// connected. The caller holds life.
func (s *session) save(disconnected int64) {
	v, err := s.record(disconnected)
	if err == nil {
		err = s.srv.b.PutRecord(store.KindSession, s.key, v)
	}
	if err != nil {
		s.srv.log.Error("mqtt: save session", "client", s.clientID, "err", err)
		return
	}
	s.recorded = true
}

// saveAsync writes the session's record without waiting for it.
func (s *session) saveAsync(disconnected int64) {
	v, err := s.record(disconnected)
	if err == nil {
		err = s.srv.b.WriteRecord(store.KindSession, s.key, v, nil)
	}
	if err != nil {
		s.srv.log.Error("mqtt: save session", "client", s.clientID, "err", err)
		return
	}
	s.recorded = true
}

func (s *session) record(disconnected int64) ([]byte, error) {
	s.mu.Lock()
	r := &sessionRecord{Version: recordVersion, VHost: s.vhost, ClientID: s.clientID, User: s.user,
		Protocol: s.protocol, Expiry: s.expiry, Disconnected: disconnected}
	if w := s.will; w != nil {
		r.Will = &willRecord{User: w.user, Delay: w.delay, Topic: w.msg.topic, QoS: w.msg.qos, Retain: w.msg.retain,
			Payload: w.msg.payload, Props: w.msg.props}
	}
	for _, sub := range s.subs {
		r.Subs = append(r.Subs, subRecord{Filter: sub.filter, QoS: sub.qos, NoLocal: sub.noLocal,
			RetainAsPublished: sub.rap, RetainHandling: sub.rh, ID: sub.id})
	}
	s.mu.Unlock()
	return r.encode()
}

// pubrecPacket is the in-flight entry mochi answers a PUBREL from.
func pubrecPacket(pid uint16) packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrec}, PacketID: pid}
}
