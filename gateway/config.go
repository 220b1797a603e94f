package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mqgate/mqgate/protocols/mqtt"
	"github.com/mqgate/mqgate/protocols/ws"
)

// Storage modes of Config.Storage.
const (
	StorageDurable = "durable" // on disk in Config.DataDir; survives restarts and crashes
	StorageMemory  = "memory"  // nothing survives the process
)

// Config is the whole configuration of a Gateway. The YAML names are the
// struct tags; Default gives every field its value, and a configuration file
// overlays only the keys it names (see LoadFile).
type Config struct {
	// DataDir holds the durable store. Relative paths are taken from the
	// working directory.
	DataDir string `yaml:"data_dir"`
	// Storage is "durable" or "memory".
	Storage string `yaml:"storage"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// ShutdownTimeout bounds a graceful shutdown (a Go duration: "5s", "1m").
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MemoryHighWatermark is the bytes of message data held in memory above
	// which publishers are blocked; 0 disables the limit. The default is 40% of
	// the machine's (or the cgroup's) memory, as RabbitMQ's
	// vm_memory_high_watermark 0.4.
	MemoryHighWatermark int64 `yaml:"memory_high_watermark"`
	// BodyCacheBytes bounds the persisted message bodies kept in memory; the
	// rest are read back from the store when delivered.
	BodyCacheBytes int64 `yaml:"body_cache_bytes"`

	// VHosts are created at start if absent.
	VHosts []string `yaml:"vhosts"`
	// Users are created, or replaced, at every start: the file is the source
	// of truth for the users it names. Other users are left alone.
	Users []UserConfig `yaml:"users"`
	// Permissions are granted at every start.
	Permissions []PermissionConfig `yaml:"permissions"`
	// TopicPermissions are granted at every start.
	TopicPermissions []TopicPermissionConfig `yaml:"topic_permissions"`
	// LoopbackUsers may log in only from a loopback address, as RabbitMQ's
	// loopback_users.
	LoopbackUsers []string `yaml:"loopback_users"`

	// Listeners are the front doors, one per protocol and transport.
	Listeners Listeners `yaml:"listeners"`

	// SQS configures the SQS-compatible API on the http_api door.
	SQS SQSConfig `yaml:"sqs"`

	// MQTT configures the MQTT front-end (doors mqtt, mqtts, web_mqtt).
	MQTT mqtt.Config `yaml:"mqtt"`
	// WebSocket configures the WebSocket doors (web_mqtt, web_stomp).
	WebSocket ws.Config `yaml:"websocket"`
}

// SQSConfig configures the SQS API. Requests are signed (SigV4) with one of
// AccessKeys, each mapped to a user and vhost; Permissive skips verification.
type SQSConfig struct {
	// Permissive serves unsigned or wrongly signed requests, as the access
	// key their credential names (or the first key). For local development.
	Permissive bool `yaml:"permissive"`
	// AccountID appears in queue URLs and ARNs.
	AccountID string `yaml:"account_id"`
	// Region appears in ARNs.
	Region string `yaml:"region"`
	// Host is the host:port queue URLs advertise; empty uses each request's
	// Host header.
	Host string `yaml:"host"`
	// EnforcePurgeInterval allows one PurgeQueue per queue per 60 seconds.
	EnforcePurgeInterval bool `yaml:"enforce_purge_interval"`
	// EnforceRecreateDelay refuses to recreate a deleted queue's name for 60
	// seconds (QueueDeletedRecently).
	EnforceRecreateDelay bool `yaml:"enforce_recreate_delay"`
	// AccessKeys are the AWS access keys and the broker users they act as.
	AccessKeys []AccessKeyConfig `yaml:"access_keys"`
}

// AccessKeyConfig maps an AWS access key to a user on a vhost.
type AccessKeyConfig struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	User            string `yaml:"user"`
	VHost           string `yaml:"vhost"`
}

// UserConfig is one user.
type UserConfig struct {
	Name     string   `yaml:"name"`
	Password string   `yaml:"password"`
	Tags     []string `yaml:"tags"` // RabbitMQ's tags: administrator, monitoring, management, ...
}

// PermissionConfig grants User RabbitMQ's configure, write and read regular
// expressions on VHost. An empty expression grants nothing.
type PermissionConfig struct {
	User      string `yaml:"user"`
	VHost     string `yaml:"vhost"`
	Configure string `yaml:"configure"`
	Write     string `yaml:"write"`
	Read      string `yaml:"read"`
}

// TopicPermissionConfig grants User routing-key regular expressions for
// publishing to (Write) and binding from (Read) the topic exchange Exchange of
// VHost.
type TopicPermissionConfig struct {
	User     string `yaml:"user"`
	VHost    string `yaml:"vhost"`
	Exchange string `yaml:"exchange"`
	Write    string `yaml:"write"`
	Read     string `yaml:"read"`
}

// Listeners configures every front door. Each protocol has a plain door and,
// where RabbitMQ has a separate port for it, a TLS door that needs a
// certificate before it can be enabled.
//
// No front-end is built yet: these settings are accepted and validated, but
// today a Gateway starts none of these doors. Each front-end's issue wires its
// doors in.
type Listeners struct {
	AMQP       ListenerConfig `yaml:"amqp"`       // AMQP 0-9-1, :5672
	AMQPS      ListenerConfig `yaml:"amqps"`      // AMQP 0-9-1 over TLS, :5671
	MQTT       ListenerConfig `yaml:"mqtt"`       // MQTT 3.1, 3.1.1, 5.0, :1883
	MQTTS      ListenerConfig `yaml:"mqtts"`      // MQTT over TLS, :8883
	STOMP      ListenerConfig `yaml:"stomp"`      // STOMP 1.0-1.2, :61613
	STOMPS     ListenerConfig `yaml:"stomps"`     // STOMP over TLS, :61614
	WebSTOMP   ListenerConfig `yaml:"web_stomp"`  // STOMP over WebSocket, :15674, path /ws
	WebMQTT    ListenerConfig `yaml:"web_mqtt"`   // MQTT over WebSocket, :15675, path /ws
	HTTPAPI    ListenerConfig `yaml:"http_api"`   // SQS and SNS APIs, :9324
	Management ListenerConfig `yaml:"management"` // management UI/API and metrics, :15672
}

// ListenerConfig is one front door.
type ListenerConfig struct {
	// Enabled doors are started, once their front-end exists.
	Enabled bool `yaml:"enabled"`
	// Addr is host:port; an empty host listens on every interface and port 0
	// picks a free port (Gateway.Addrs reports it).
	Addr string `yaml:"addr"`
	// TLS, when set, makes the door accept TLS only.
	TLS *TLSConfig `yaml:"tls"`
}

// TLSConfig is a door's certificate and, optionally, the authorities whose
// client certificates it verifies.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"` // PEM certificate chain
	KeyFile  string `yaml:"key_file"`  // PEM private key
	// CAFile, when set, makes the door ask for a client certificate and verify
	// any it is given against these authorities (RabbitMQ's verify_peer with
	// fail_if_no_peer_cert false).
	CAFile string `yaml:"ca_file"`
}

// door names one ListenerConfig of Listeners.
type doorConfig struct {
	name    string // the YAML key, also the key of Gateway.Addrs
	cfg     *ListenerConfig
	tlsOnly bool // a door that exists for TLS: enabling it requires TLS
}

// doors lists l's doors in a fixed order.
func (l *Listeners) doors() []doorConfig {
	return []doorConfig{
		{"amqp", &l.AMQP, false},
		{"amqps", &l.AMQPS, true},
		{"mqtt", &l.MQTT, false},
		{"mqtts", &l.MQTTS, true},
		{"stomp", &l.STOMP, false},
		{"stomps", &l.STOMPS, true},
		{"web_stomp", &l.WebSTOMP, false},
		{"web_mqtt", &l.WebMQTT, false},
		{"http_api", &l.HTTPAPI, false},
		{"management", &l.Management, false},
	}
}

// Defaults.
const (
	DefaultDataDir         = "./mqgate-data"
	DefaultShutdownTimeout = 5 * time.Second
	DefaultBodyCacheBytes  = 64 << 20
	// fallbackMemory is assumed when the machine's memory cannot be read.
	fallbackMemory = 1 << 30
)

// Default returns the configuration mqgate runs with when given none.
func Default() Config {
	return Config{
		DataDir:             DefaultDataDir,
		Storage:             StorageDurable,
		LogLevel:            "info",
		ShutdownTimeout:     DefaultShutdownTimeout,
		MemoryHighWatermark: defaultMemoryHighWatermark(),
		BodyCacheBytes:      DefaultBodyCacheBytes,
		VHosts:              []string{"/"},
		Users:               []UserConfig{{Name: "guest", Password: "guest", Tags: []string{"administrator"}}},
		Permissions:         []PermissionConfig{{User: "guest", VHost: "/", Configure: ".*", Write: ".*", Read: ".*"}},
		TopicPermissions:    []TopicPermissionConfig{},
		LoopbackUsers:       []string{"guest"},
		MQTT:                mqtt.DefaultConfig(),
		SQS: SQSConfig{
			AccountID:            "000000000000",
			Region:               "us-east-1",
			EnforcePurgeInterval: true,
			EnforceRecreateDelay: true,
			AccessKeys:           []AccessKeyConfig{{AccessKeyID: "test", SecretAccessKey: "test", User: "guest", VHost: "/"}},
		},
		Listeners: Listeners{
			AMQP:       ListenerConfig{Enabled: true, Addr: ":5672"},
			AMQPS:      ListenerConfig{Addr: ":5671"},
			MQTT:       ListenerConfig{Enabled: true, Addr: ":1883"},
			MQTTS:      ListenerConfig{Addr: ":8883"},
			STOMP:      ListenerConfig{Enabled: true, Addr: ":61613"},
			STOMPS:     ListenerConfig{Addr: ":61614"},
			WebSTOMP:   ListenerConfig{Enabled: true, Addr: ":15674"},
			WebMQTT:    ListenerConfig{Enabled: true, Addr: ":15675"},
			HTTPAPI:    ListenerConfig{Enabled: true, Addr: ":9324"},
			Management: ListenerConfig{Enabled: true, Addr: ":15672"},
		},
	}
}

// LoadFile returns Default overlaid with the YAML file at path: keys the file
// names replace the defaults (a list replaces the whole default list), the
// others keep them. An unknown key is an error. The result is not validated;
// call Validate once every override is applied.
func LoadFile(path string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		// yaml reports a type error only as text; the hint is for the reader.
		if strings.Contains(err.Error(), "time.Duration") {
			return cfg, fmt.Errorf("config %s: %w\n(durations are Go duration strings such as \"5s\" or \"1m30s\")", path, err)
		}
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("config %s: more than one YAML document", path)
	}
	return cfg, nil
}

// Validate reports every problem in c at once, each prefixed by its YAML key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	switch c.Storage {
	case StorageDurable:
		if strings.TrimSpace(c.DataDir) == "" {
			bad("data_dir", "must be set when storage is %q", StorageDurable)
		}
	case StorageMemory:
	default:
		bad("storage", "%q is not one of %q, %q", c.Storage, StorageDurable, StorageMemory)
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		bad("log_level", "%v", err)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive, got %v", c.ShutdownTimeout)
	}
	if c.MemoryHighWatermark < 0 {
		bad("memory_high_watermark", "must not be negative (0 disables it), got %d", c.MemoryHighWatermark)
	}
	if c.BodyCacheBytes < 0 {
		bad("body_cache_bytes", "must not be negative, got %d", c.BodyCacheBytes)
	}

	vhosts := map[string]bool{}
	for i, v := range c.VHosts {
		key := fmt.Sprintf("vhosts[%d]", i)
		switch {
		case v == "":
			bad(key, "must not be empty")
		case vhosts[v]:
			bad(key, "%q is listed twice", v)
		}
		vhosts[v] = true
	}
	users := map[string]bool{}
	for i, u := range c.Users {
		key := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Name == "":
			bad(key+".name", "must not be empty")
		case users[u.Name]:
			bad(key+".name", "%q is listed twice", u.Name)
		}
		users[u.Name] = true
		if u.Password == "" {
			bad(key+".password", "must not be empty (user %q)", u.Name)
		}
		for j, t := range u.Tags {
			if strings.TrimSpace(t) == "" {
				bad(fmt.Sprintf("%s.tags[%d]", key, j), "must not be empty")
			}
		}
	}
	// Grants name only users and vhosts of this file, so a typo is caught here
	// rather than by a client refused at login.
	grant := func(key, user, vhost string) {
		if !users[user] {
			bad(key+".user", "%q is not in users", user)
		}
		if !vhosts[vhost] {
			bad(key+".vhost", "%q is not in vhosts", vhost)
		}
	}
	regex := func(key, expr string) {
		if _, err := regexp.Compile(expr); err != nil {
			bad(key, "%v", err)
		}
	}
	for i, p := range c.Permissions {
		key := fmt.Sprintf("permissions[%d]", i)
		grant(key, p.User, p.VHost)
		regex(key+".configure", p.Configure)
		regex(key+".write", p.Write)
		regex(key+".read", p.Read)
	}
	for i, p := range c.TopicPermissions {
		key := fmt.Sprintf("topic_permissions[%d]", i)
		grant(key, p.User, p.VHost)
		if p.Exchange == "" {
			bad(key+".exchange", "must not be empty")
		}
		regex(key+".write", p.Write)
		regex(key+".read", p.Read)
	}
	for i, u := range c.LoopbackUsers {
		if u == "" {
			bad(fmt.Sprintf("loopback_users[%d]", i), "must not be empty")
		}
	}

	errs = append(errs, c.Listeners.validate()...)
	errs = append(errs, c.SQS.validate()...)
	if err := c.MQTT.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.WebSocket.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *SQSConfig) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
		bad("sqs.account_id", "%q is not a 12-digit AWS account id", c.AccountID)
	}
	if c.Region == "" {
		bad("sqs.region", "must not be empty")
	}
	ids := map[string]bool{}
	for i, k := range c.AccessKeys {
		key := fmt.Sprintf("sqs.access_keys[%d]", i)
		switch {
		case k.AccessKeyID == "":
			bad(key+".access_key_id", "must not be empty")
		case ids[k.AccessKeyID]:
			bad(key+".access_key_id", "%q is listed twice", k.AccessKeyID)
		}
		ids[k.AccessKeyID] = true
		if k.SecretAccessKey == "" {
			bad(key+".secret_access_key", "must not be empty")
		}
		// The user and vhost may come from the store rather than this file
		// (and the default key names guest on /, which a file may drop); a
		// key whose user is missing is refused at request time.
		if k.User == "" {
			bad(key+".user", "must not be empty")
		}
		if k.VHost == "" {
			bad(key+".vhost", "must not be empty")
		}
	}
	return errs
}

func (l *Listeners) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	bound := map[string]string{} // host:port -> door
	for _, d := range l.doors() {
		key := "listeners." + d.name
		if t := d.cfg.TLS; t != nil {
			if t.CertFile == "" {
				bad(key+".tls.cert_file", "must be set")
			}
			if t.KeyFile == "" {
				bad(key+".tls.key_file", "must be set")
			}
		}
		if !d.cfg.Enabled {
			continue
		}
		if d.tlsOnly && d.cfg.TLS == nil {
			bad(key+".tls", "must be set to enable this TLS door (cert_file, key_file)")
		}
		host, port, err := net.SplitHostPort(d.cfg.Addr)
		if err != nil {
			bad(key+".addr", "%q is not host:port: %v", d.cfg.Addr, err)
			continue
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil {
			bad(key+".addr", "%q: port %q is not a number from 0 to 65535", d.cfg.Addr, port)
			continue
		} else if n == 0 {
			continue // every port-0 listener gets its own port
		}
		// Two doors on one port cannot both bind. Different hosts on one port
		// may (127.0.0.1:5672 and 10.0.0.1:5672), so compare host:port.
		hp := net.JoinHostPort(host, port)
		if other, ok := bound[hp]; ok {
			bad(key+".addr", "%q is also the address of listeners.%s", d.cfg.Addr, other)
		}
		bound[hp] = d.name
	}
	return errs
}

// ParseLogLevel parses debug, info, warn or error, in any case.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

// defaultMemoryHighWatermark is 40% of the memory this process may use.
func defaultMemoryHighWatermark() int64 {
	total := totalMemory()
	if total <= 0 {
		total = fallbackMemory
	}
	return total / 10 * 4
}

// totalMemory is the machine's memory (MemTotal of /proc/meminfo), or the
// cgroup v2 memory limit when that is lower, as in a container; 0 if neither
// can be read.
func totalMemory() int64 {
	total := memInfoTotal("/proc/meminfo")
	if limit := cgroupMemoryMax("/sys/fs/cgroup/memory.max"); limit > 0 && (total == 0 || limit < total) {
		total = limit
	}
	return total
}

// memInfoTotal reads the MemTotal line ("MemTotal:  16314372 kB") of a
// /proc/meminfo file, in bytes; 0 if absent.
func memInfoTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "MemTotal:" {
			continue
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		if len(fields) >= 3 && strings.EqualFold(fields[2], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// cgroupMemoryMax reads a cgroup v2 memory.max file: a byte count, or "max"
// for no limit (0).
func cgroupMemoryMax(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
