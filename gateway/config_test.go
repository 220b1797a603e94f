package gateway

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if cfg.DataDir != "./mqgate-data" || cfg.Storage != StorageDurable || cfg.LogLevel != "info" ||
		cfg.ShutdownTimeout != 5*time.Second || cfg.BodyCacheBytes != 64<<20 {
		t.Errorf("Default() = %+v", cfg)
	}
	if cfg.MemoryHighWatermark <= 0 {
		t.Errorf("MemoryHighWatermark = %d, want > 0", cfg.MemoryHighWatermark)
	}
	if len(cfg.Users) != 1 || cfg.Users[0].Name != "guest" || cfg.Users[0].Password != "guest" {
		t.Errorf("Users = %+v, want guest/guest", cfg.Users)
	}
	if len(cfg.LoopbackUsers) != 1 || cfg.LoopbackUsers[0] != "guest" {
		t.Errorf("LoopbackUsers = %v, want [guest]", cfg.LoopbackUsers)
	}
	wantAddr := map[string]string{
		"amqp": ":5672", "amqps": ":5671", "mqtt": ":1883", "mqtts": ":8883", "stomp": ":61613",
		"stomps": ":61614", "web_stomp": ":15674", "web_mqtt": ":15675", "http_api": ":9324", "management": ":15672",
	}
	for _, d := range cfg.Listeners.doors() {
		if d.cfg.Addr != wantAddr[d.name] {
			t.Errorf("listeners.%s.addr = %q, want %q", d.name, d.cfg.Addr, wantAddr[d.name])
		}
		if d.cfg.Enabled == d.tlsOnly {
			t.Errorf("listeners.%s.enabled = %v; plain doors are on, TLS doors off until given a certificate",
				d.name, d.cfg.Enabled)
		}
	}
	if len(cfg.Listeners.doors()) != len(wantAddr) {
		t.Errorf("%d doors, want %d", len(cfg.Listeners.doors()), len(wantAddr))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // a substring of the error; "" for valid
	}{
		{"memory without data dir", func(c *Config) { c.Storage = StorageMemory; c.DataDir = "" }, ""},
		{"no watermark", func(c *Config) { c.MemoryHighWatermark = 0 }, ""},
		{"log level upper case", func(c *Config) { c.LogLevel = "DEBUG" }, ""},
		{"durable without data dir", func(c *Config) { c.DataDir = " " }, `data_dir: must be set when storage is "durable"`},
		{"storage", func(c *Config) { c.Storage = "disk" }, `storage: "disk" is not one of "durable", "memory"`},
		{"log level", func(c *Config) { c.LogLevel = "verbose" }, `log_level: "verbose" is not one of debug, info, warn, error`},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout: must be positive"},
		{"watermark", func(c *Config) { c.MemoryHighWatermark = -1 }, "memory_high_watermark: must not be negative"},
		{"body cache", func(c *Config) { c.BodyCacheBytes = -1 }, "body_cache_bytes: must not be negative"},
		{"empty vhost", func(c *Config) { c.VHosts = append(c.VHosts, "") }, "vhosts[1]: must not be empty"},
		{"duplicate vhost", func(c *Config) { c.VHosts = append(c.VHosts, "/") }, `vhosts[1]: "/" is listed twice`},
		{"user name", func(c *Config) { c.Users[0].Name = "" }, "users[0].name: must not be empty"},
		{"duplicate user", func(c *Config) { c.Users = append(c.Users, c.Users[0]) }, `users[1].name: "guest" is listed twice`},
		{"password", func(c *Config) { c.Users[0].Password = "" }, `users[0].password: must not be empty (user "guest")`},
		{"tag", func(c *Config) { c.Users[0].Tags = []string{""} }, "users[0].tags[0]: must not be empty"},
		{"permission user", func(c *Config) { c.Permissions[0].User = "gust" }, `permissions[0].user: "gust" is not in users`},
		{"permission vhost", func(c *Config) { c.Permissions[0].VHost = "prod" }, `permissions[0].vhost: "prod" is not in vhosts`},
		{"permission regex", func(c *Config) { c.Permissions[0].Write = "(" }, "permissions[0].write: error parsing regexp"},
		{"topic permission", func(c *Config) {
			c.TopicPermissions = []TopicPermissionConfig{{User: "guest", VHost: "/", Exchange: "", Write: ".*", Read: "["}}
		}, "topic_permissions[0].exchange: must not be empty"},
		{"topic permission regex", func(c *Config) {
			c.TopicPermissions = []TopicPermissionConfig{{User: "guest", VHost: "/", Exchange: "amq.topic", Read: "["}}
		}, "topic_permissions[0].read: error parsing regexp"},
		{"loopback user", func(c *Config) { c.LoopbackUsers = []string{""} }, "loopback_users[0]: must not be empty"},
		{"listener addr", func(c *Config) { c.Listeners.AMQP.Addr = "5672" }, `listeners.amqp.addr: "5672" is not host:port`},
		{"listener port", func(c *Config) { c.Listeners.MQTT.Addr = ":99999" }, `listeners.mqtt.addr: ":99999": port "99999" is not a number`},
		{"disabled listener addr not checked", func(c *Config) { c.Listeners.AMQP = ListenerConfig{Addr: "x"} }, ""},
		{"same port", func(c *Config) { c.Listeners.STOMP.Addr = ":5672" }, `listeners.stomp.addr: ":5672" is also the address of listeners.amqp`},
		{"port 0 twice", func(c *Config) { c.Listeners.AMQP.Addr = "127.0.0.1:0"; c.Listeners.MQTT.Addr = "127.0.0.1:0" }, ""},
		{"same port other host", func(c *Config) { c.Listeners.AMQP.Addr = "127.0.0.1:1883" }, ""},
		{"TLS door without TLS", func(c *Config) { c.Listeners.AMQPS.Enabled = true }, "listeners.amqps.tls: must be set to enable this TLS door"},
		{"TLS without key", func(c *Config) { c.Listeners.MQTT.TLS = &TLSConfig{CertFile: "c.pem"} }, "listeners.mqtt.tls.key_file: must be set"},
		{"TLS door with TLS", func(c *Config) {
			c.Listeners.AMQPS = ListenerConfig{Enabled: true, Addr: ":5671", TLS: &TLSConfig{CertFile: "c", KeyFile: "k"}}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.change(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.Storage = "disk"
	cfg.LogLevel = "loud"
	cfg.ShutdownTimeout = -time.Second
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, key := range []string{"storage:", "log_level:", "shutdown_timeout:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %q, missing %s", err, key)
		}
	}
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFileOverlaysDefaults(t *testing.T) {
	path := writeFile(t, "mqgate.yaml", `
data_dir: /var/lib/mqgate
shutdown_timeout: 1m30s
body_cache_bytes: 1048576
vhosts: [/, prod]
users:
  - name: admin
    password: s3cret
    tags: [administrator]
permissions:
  - {user: admin, vhost: prod, configure: "^$", write: ".*", read: ".*"}
listeners:
  amqp:
    addr: 127.0.0.1:5673
  mqtts:
    enabled: true
    tls: {cert_file: /etc/mqgate/cert.pem, key_file: /etc/mqgate/key.pem}
`)
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	def := Default()
	if cfg.DataDir != "/var/lib/mqgate" || cfg.ShutdownTimeout != 90*time.Second || cfg.BodyCacheBytes != 1<<20 {
		t.Errorf("file values not applied: %+v", cfg)
	}
	if cfg.Storage != def.Storage || cfg.LogLevel != def.LogLevel || cfg.MemoryHighWatermark != def.MemoryHighWatermark {
		t.Errorf("defaults not kept: %+v", cfg)
	}
	// A list in the file replaces the default list.
	if len(cfg.Users) != 1 || cfg.Users[0].Name != "admin" || len(cfg.VHosts) != 2 || len(cfg.Permissions) != 1 {
		t.Errorf("lists = %+v %+v %+v", cfg.VHosts, cfg.Users, cfg.Permissions)
	}
	// A listener named in the file keeps the defaults of the keys it does not name.
	if l := cfg.Listeners.AMQP; !l.Enabled || l.Addr != "127.0.0.1:5673" {
		t.Errorf("listeners.amqp = %+v", l)
	}
	if l := cfg.Listeners.MQTTS; !l.Enabled || l.Addr != ":8883" || l.TLS == nil || l.TLS.KeyFile != "/etc/mqgate/key.pem" {
		t.Errorf("listeners.mqtts = %+v", l)
	}
	if cfg.Listeners.STOMP != def.Listeners.STOMP {
		t.Errorf("listeners.stomp = %+v, want the default", cfg.Listeners.STOMP)
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "data_dri: /tmp\n", "field data_dri not found"},
		{"unknown nested key", "listeners:\n  amqp:\n    port: 5672\n", "field port not found"},
		{"unknown listener", "listeners:\n  amqp10: {enabled: true}\n", "field amqp10 not found"},
		{"duration as number", "shutdown_timeout: 5\n", `durations are Go duration strings such as "5s"`},
		{"bad duration", "shutdown_timeout: five seconds\n", "line 1: cannot unmarshal !!str `five se...` into time.Duration"},
		{"wrong type", "vhosts: /\n", "cannot unmarshal"},
		{"two documents", "log_level: info\n---\nlog_level: debug\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "mqgate.yaml", tt.yaml)
			_, err := LoadFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadFile() = %v, want an error containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadFileEmptyAndMissing(t *testing.T) {
	cfg, err := LoadFile(writeFile(t, "empty.yaml", "# nothing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != DefaultDataDir || len(cfg.Users) != 1 {
		t.Errorf("LoadFile(empty) = %+v, want the defaults", cfg)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "absent.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(absent) = %v, want a not-exist error", err)
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "Warn": slog.LevelWarn, "ERROR": slog.LevelError,
	} {
		if got, err := ParseLogLevel(in); err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "trace", "info+2", "warning"} {
		if _, err := ParseLogLevel(in); err == nil {
			t.Errorf("ParseLogLevel(%q) succeeded", in)
		}
	}
}

func TestMemoryReaders(t *testing.T) {
	meminfo := writeFile(t, "meminfo", "MemFree:  1000 kB\nMemTotal:       16314372 kB\nBuffers: 1 kB\n")
	if got, want := memInfoTotal(meminfo), int64(16314372*1024); got != want {
		t.Errorf("memInfoTotal = %d, want %d", got, want)
	}
	if got := memInfoTotal(writeFile(t, "meminfo", "MemFree: 1 kB\n")); got != 0 {
		t.Errorf("memInfoTotal without MemTotal = %d, want 0", got)
	}
	if got := memInfoTotal(filepath.Join(t.TempDir(), "absent")); got != 0 {
		t.Errorf("memInfoTotal(absent) = %d, want 0", got)
	}
	for data, want := range map[string]int64{"max\n": 0, "2147483648\n": 2 << 30, "junk": 0} {
		if got := cgroupMemoryMax(writeFile(t, "memory.max", data)); got != want {
			t.Errorf("cgroupMemoryMax(%q) = %d, want %d", data, got, want)
		}
	}
	if got := defaultMemoryHighWatermark(); got <= 0 || got > totalMemoryOr(fallbackMemory) {
		t.Errorf("defaultMemoryHighWatermark = %d", got)
	}
}

func totalMemoryOr(fallback int64) int64 {
	if n := totalMemory(); n > 0 {
		return n
	}
	return fallback
}

// TestREADMEConfigIsTheDefault keeps the README's configuration example true:
// loaded as a file, it must give exactly Default.
func TestREADMEConfigIsTheDefault(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n```yaml\n")
	block, _, ok2 := strings.Cut(rest, "\n```\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```yaml block")
	}
	cfg, err := LoadFile(writeFile(t, "readme.yaml", block))
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("README's configuration differs from Default():\n got %+v\nwant %+v", cfg, want)
	}
}
