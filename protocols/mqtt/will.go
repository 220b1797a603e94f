package mqtt

import (
	"time"

	"github.com/mqgate/mqgate/core"
)

// will is a client's Last Will: published through core as if the client had
// published it, when its connection ends without DISCONNECT (or with reason
// 0x04), after its delay unless the session resumes first, and at the
// latest when the session ends [MQTT-3.1.2-8] [MQTT-3.1.3-9]. Wills are not
// published when the gateway shuts down; a will waiting for its delay is in
// the session's record and waits on after a restart.
type will struct {
	user  string // who connected: the will is published with their rights
	delay uint32 // Will Delay Interval, seconds (mochi caps it at the session expiry)
	msg   appMsg
}

// publishWill publishes w. The caller holds life.
func (s *session) publishWill(w *will) {
	srv := s.srv
	who := aclSubject{user: w.user, vhost: s.vhost, clientID: s.clientID}
	if !allowed(srv.cfg.ACL, who, false, w.msg.topic) {
		srv.log.Info("mqtt: will refused by acl", "client", s.clientID, "topic", w.msg.topic)
		return
	}
	cs := s.cs
	if cs == nil || s.user != w.user {
		if cs = s.adminSession(w.user); cs == nil {
			return
		}
		defer cs.Connection().Close()
	}
	var o core.PublishOptions
	if w.msg.retain {
		// Before any subscriber has the will, as for any retained publish.
		o.Accepted = func() { srv.retained.set(s.vhost, newRetained(&w.msg, time.Now()), func(error) {}) }
	}
	if _, err := cs.Publish(toMessage(&w.msg, srv.cfg.Exchange, s.clientID), o); err != nil {
		srv.log.Info("mqtt: will not published", "client", s.clientID, "topic", w.msg.topic, "err", err)
	}
}

// newRetained is the retained copy of a published message.
func newRetained(a *appMsg, now time.Time) *retained {
	return &retained{Topic: a.topic, QoS: a.qos, Payload: a.payload, Props: a.props, Created: now.UnixMilli()}
}
