package mqtt

import (
	"context"
	"log/slog"

	mochi "github.com/mochi-mqtt/server/v2"
)

// mochiLog is the handler of mochi's logger. It turns mochi's warning about
// a keep-alive of 5 s or less (ParseConnect) into a debug record: a
// keep-alive of 0, which switches it off, is what many devices send
// [MQTT-3.1.2-10], and a warning per connection would fill the log.
type mochiLog struct{ slog.Handler }

func (h mochiLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && r.Message == mochi.ErrMinimumKeepalive.Error() {
		if !h.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h mochiLog) WithAttrs(as []slog.Attr) slog.Handler { return mochiLog{h.Handler.WithAttrs(as)} }

func (h mochiLog) WithGroup(name string) slog.Handler { return mochiLog{h.Handler.WithGroup(name)} }
