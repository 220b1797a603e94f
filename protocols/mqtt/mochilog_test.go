package mqtt

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
)

// TestMochiKeepaliveWarningIsDebug: mochi's warning about a short
// keep-alive is logged at debug level only; its other warnings stay.
func TestMochiKeepaliveWarningIsDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelDebug} {
		var buf bytes.Buffer
		log := slog.New(mochiLog{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})}).With("component", "mochi")
		log.Warn(mochi.ErrMinimumKeepalive.Error(), "keepalive", 0)
		log.Warn("something else")
		out := buf.String()
		keepalive := strings.Contains(out, mochi.ErrMinimumKeepalive.Error())
		if keepalive != (level == slog.LevelDebug) || keepalive && !strings.Contains(out, "level=DEBUG") {
			t.Errorf("at %v: %q", level, out)
		}
		if !strings.Contains(out, "level=WARN msg=\"something else\" component=mochi") {
			t.Errorf("at %v: the other warning is missing: %q", level, out)
		}
	}
}
