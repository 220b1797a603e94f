package mqtt

import (
	"encoding/json"
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// A persistent session is stored as a record of kind store.KindSession,
// keyed by the session key (the client identifier, prefixed by its vhost and
// NUL outside the default vhost). The session's messages are not in it: they
// wait in the session's durable queues, which the broker recovers itself.

// sessionRecord is what a restart needs to bring a session back.
type sessionRecord struct {
	Version      int         `json:"v"`
	VHost        string      `json:"vhost"`
	ClientID     string      `json:"client_id"`
	User         string      `json:"user"`
	Protocol     byte        `json:"proto"`
	Expiry       uint32      `json:"expiry"`                    // seconds after disconnection
	Disconnected int64       `json:"disconnected_at,omitempty"` // unix milliseconds; 0 while connected
	Subs         []subRecord `json:"subs"`
	// Will is the will of the last connection while it waits for its
	// delay, so that a restart does not lose it.
	Will *willRecord `json:"will,omitempty"`
}

// willRecord is a delayed will.
type willRecord struct {
	User    string             `json:"user"`
	Delay   uint32             `json:"delay"` // seconds after disconnection
	Topic   string             `json:"topic"`
	QoS     byte               `json:"qos"`
	Retain  bool               `json:"retain,omitempty"`
	Payload []byte             `json:"payload,omitempty"`
	Props   packets.Properties `json:"props"`
}

// subRecord is one subscription and its options.
type subRecord struct {
	Filter            string `json:"f"`
	QoS               byte   `json:"q"`
	NoLocal           bool   `json:"nl,omitempty"`
	RetainAsPublished bool   `json:"rap,omitempty"`
	RetainHandling    byte   `json:"rh,omitempty"`
	ID                int    `json:"id,omitempty"`
}

const recordVersion = 1

func (r *sessionRecord) encode() ([]byte, error) { return json.Marshal(r) }

func decodeSessionRecord(b []byte) (*sessionRecord, error) {
	var r sessionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Version != recordVersion {
		return nil, fmt.Errorf("session record version %d is not %d", r.Version, recordVersion)
	}
	for _, s := range r.Subs {
		if !validFilter(s.Filter) || s.QoS > 2 {
			return nil, fmt.Errorf("session record of %q: invalid subscription %q", r.ClientID, s.Filter)
		}
	}
	if w := r.Will; w != nil && (!validTopic(w.Topic) || w.QoS > 2) {
		return nil, fmt.Errorf("session record of %q: invalid will topic %q", r.ClientID, w.Topic)
	}
	return &r, nil
}
