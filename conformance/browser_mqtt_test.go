package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Browser tests: headless Chromium loads a page served by the test; the page
// uses the npm package mqtt (mqtt.js) over WebSocket and posts what happened
// to the test's HTTP server. .ci/run installs Chromium (Debian's chromium) and
// the npm packages of testdata/browser (`npm ci`); without them the tests are
// skipped, saying which is missing.

// browserDir holds package.json and, once installed, node_modules.
const browserDir = "testdata/browser"

// chromiumPath finds Chromium, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MQGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test skipped: no Chromium (install Debian's chromium package, or set MQGATE_CHROMIUM)")
	return ""
}

// npmFile returns a file of an installed npm package, or skips the test.
func npmFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(browserDir, "node_modules", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("browser test skipped: %s is not installed (run `npm ci` in conformance/%s)", rel, browserDir)
	}
	return p
}

// runBrowser serves page (with the files of static at their paths), opens
// it in headless Chromium and returns the channel of what the page posts to
// /report. Chromium is stopped when the test ends.
func runBrowser(t *testing.T, page string, static map[string]string) <-chan map[string]any {
	t.Helper()
	chromium := chromiumPath(t)
	reports := make(chan map[string]any, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	for path, file := range static {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, file) })
	}
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		reports <- m
	})
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), web.URL+"/")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	return reports
}

// report waits for the page's next report.
func report(t *testing.T, reports <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case m := <-reports:
		if e, ok := m["error"]; ok {
			t.Fatalf("page reported an error: %v", e)
		}
		return m
	case <-time.After(60 * time.Second):
		t.Fatal("the page reported nothing within 60 s")
		return nil
	}
}

// mqtt.js in Chromium, MQTT 5 and 3.1.1 over the web_mqtt door: it
// subscribes, publishes to itself, and receives what a Go client publishes,
// with MQTT 5 properties both ways.
func TestMQTTBrowserMQTTJS(t *testing.T) {
	lib := npmFile(t, "mqtt/dist/mqtt.min.js")
	s := startServer(t, options{})
	url := "ws://" + s.addr("web_mqtt") + "/ws"
	for _, version := range []int{5, 4} {
		t.Run(fmt.Sprintf("protocol %d", version), func(t *testing.T) {
			s := s.with(t)
			topic := fmt.Sprintf("browser/v%d", version)
			page := fmt.Sprintf(browserPage, url, version, topic)
			reports := runBrowser(t, page, map[string]string{"/mqtt.min.js": lib})
			if m := report(t, reports); m["step"] != "subscribed" {
				t.Fatalf("first report %v", m)
			}
			own := report(t, reports)
			if own["payload"] != "from the browser" || own["topic"] != topic+"/self" || own["qos"] != 1.0 {
				t.Fatalf("own message: %v", own)
			}
			if version == 5 && own["color"] != "blue" {
				t.Fatalf("own message user properties: %v", own)
			}
			goc := s.v5(overTCP, nil, nil)
			goc.publish(&paho.Publish{Topic: topic + "/go", QoS: 1, Payload: []byte("from Go"),
				Properties: &paho.PublishProperties{User: paho.UserProperties{{Key: "color", Value: "green"}},
					ContentType: "text/plain"}})
			m := report(t, reports)
			if m["payload"] != "from Go" || m["topic"] != topic+"/go" {
				t.Fatalf("Go message: %v", m)
			}
			if version == 5 && (m["color"] != "green" || m["contentType"] != "text/plain") {
				t.Fatalf("Go message properties: %v", m)
			}
		})
	}
}

// browserPage: the page connects with mqtt.js (URL, protocol version,
// topic prefix), reports "subscribed", then every message it gets.
const browserPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>mqgate browser test</title></head><body>
<script src="/mqtt.min.js"></script>
<script>
function report(m) { fetch("/report", {method: "POST", body: JSON.stringify(m)}); }
window.onerror = function (msg) { report({error: String(msg)}); };
const version = %[2]d, topic = %[3]q;
const client = mqtt.connect(%[1]q, {protocolVersion: version, clean: true, reconnectPeriod: 0,
  clientId: "browser-" + version});
client.on("error", function (e) { report({error: "mqtt: " + e.message}); });
client.on("connect", function () {
  client.subscribe(topic + "/#", {qos: 1}, function (err) {
    if (err) { report({error: "subscribe: " + err.message}); return; }
    report({step: "subscribed"});
    const opts = {qos: 1};
    if (version === 5) { opts.properties = {userProperties: {color: "blue"}}; }
    client.publish(topic + "/self", "from the browser", opts);
  });
});
client.on("message", function (t, payload, packet) {
  const p = packet.properties || {};
  const up = p.userProperties || {};
  report({topic: t, payload: payload.toString(), qos: packet.qos, color: up.color, contentType: p.contentType});
});
</script></body></html>`

// lockedBuffer collects a process's output from its copying goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
