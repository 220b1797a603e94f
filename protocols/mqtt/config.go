package mqtt

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the MQTT front-end. The YAML names are those of the
// gateway's configuration file, under the key "mqtt".
type Config struct {
	// DefaultVHost is the vhost of clients whose user name does not name
	// one ("vhost:user", as RabbitMQ).
	DefaultVHost string `yaml:"default_vhost"`
	// Exchange is the topic exchange MQTT publishes to and subscriptions
	// bind to, in every vhost (RabbitMQ's mqtt.exchange).
	Exchange string `yaml:"exchange"`
	// AllowAnonymous lets clients without a user name in, as DefaultUser
	// (RabbitMQ's mqtt.allow_anonymous). DefaultUser is subject to the
	// broker's loopback_users like any other login.
	AllowAnonymous bool   `yaml:"allow_anonymous"`
	DefaultUser    string `yaml:"default_user"`
	DefaultPass    string `yaml:"default_pass"`
	// Prefetch caps the unacknowledged QoS 1/2 messages sent to one session:
	// the credit is the smaller of it and the client's Receive Maximum.
	Prefetch int `yaml:"prefetch"`
	// ReceiveMaximum is the number of unacknowledged QoS 1/2 publishes a
	// client may have outstanding towards the server (CONNACK Receive
	// Maximum); beyond it the front-end stops reading from the client.
	ReceiveMaximum uint16 `yaml:"receive_maximum"`
	// MaxSessionExpiry caps the session expiry interval of MQTT 5 clients and
	// is the expiry of MQTT 3 persistent sessions (RabbitMQ's
	// mqtt.max_session_expiry_interval_seconds, one day).
	MaxSessionExpiry time.Duration `yaml:"max_session_expiry"`
	// MaxPacketSize bounds every inbound packet, checked before the packet is
	// read into memory; it is announced to MQTT 5 clients.
	MaxPacketSize uint32 `yaml:"max_packet_size"`
	// TopicAliasMaximum is the number of topic aliases a client may define
	// towards the server; 0 disables inbound aliases.
	TopicAliasMaximum uint16 `yaml:"topic_alias_maximum"`
	// ServerKeepAlive, when not zero, replaces the keep-alive of MQTT 5
	// clients that ask for none or for a longer one (CONNACK Server Keep
	// Alive), in seconds.
	ServerKeepAlive uint16 `yaml:"server_keep_alive"`
	// QoS0Buffer bounds the QoS 0 messages waiting to be written to one
	// client; beyond it QoS 0 messages are dropped and counted.
	QoS0Buffer int `yaml:"qos0_buffer"`
	// ACL restricts topics per user, before the broker's own permissions.
	ACL []ACLRule `yaml:"acl"`
}

// DefaultConfig returns the configuration used when none is given.
func DefaultConfig() Config {
	return Config{
		DefaultVHost:      "/",
		Exchange:          "amq.topic",
		AllowAnonymous:    true,
		DefaultUser:       "guest",
		DefaultPass:       "guest",
		Prefetch:          256,
		ReceiveMaximum:    1024,
		MaxSessionExpiry:  24 * time.Hour,
		MaxPacketSize:     16 << 20,
		TopicAliasMaximum: 64,
		QoS0Buffer:        10000,
	}
}

// maxPacketLimit is MQTT's largest packet: a 4-byte remaining length.
const maxPacketLimit = 268435455

// Validate reports every problem in c, each prefixed by its YAML key in
// the gateway's file ("mqtt.prefetch: ...").
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mqtt.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.DefaultVHost == "" {
		bad("default_vhost", "must not be empty")
	}
	if c.Exchange == "" {
		bad("exchange", "must not be empty")
	}
	if c.AllowAnonymous && c.DefaultUser == "" {
		bad("default_user", "must be set when allow_anonymous is true")
	}
	if c.Prefetch < 1 || c.Prefetch > 65535 {
		bad("prefetch", "must be from 1 to 65535, got %d", c.Prefetch)
	}
	if c.ReceiveMaximum == 0 {
		bad("receive_maximum", "must be from 1 to 65535")
	}
	if c.MaxSessionExpiry < 0 {
		bad("max_session_expiry", "must not be negative, got %v", c.MaxSessionExpiry)
	}
	if c.MaxPacketSize < 1024 || c.MaxPacketSize > maxPacketLimit {
		bad("max_packet_size", "must be from 1024 to %d, got %d", maxPacketLimit, c.MaxPacketSize)
	}
	if c.QoS0Buffer < 1 {
		bad("qos0_buffer", "must be at least 1, got %d", c.QoS0Buffer)
	}
	for i, r := range c.ACL {
		if err := r.validate(); err != nil {
			bad(fmt.Sprintf("acl[%d]", i), "%v", err)
		}
	}
	return errors.Join(errs...)
}

// sessionExpiryCap is MaxSessionExpiry in whole seconds, as MQTT counts.
func (c Config) sessionExpiryCap() uint32 {
	s := c.MaxSessionExpiry / time.Second
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}
