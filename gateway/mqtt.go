package gateway

import (
	"log/slog"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/mqtt"
)

// The MQTT front-end serves the doors "mqtt" and "mqtts" (the door's
// listener does TLS) and, through the WebSocket transport (ws.go),
// "web_mqtt": one server, so that a client identifier is one session
// whichever door it uses.
func init() {
	frontEndBuilders = append(frontEndBuilders, func(fes map[string]frontEnd, b *core.Broker, cfg Config, log *slog.Logger) {
		srv := mqtt.New(cfg.MQTT, b, log.With("proto", "mqtt"))
		fes["mqtt"] = srv.Door("mqtt")
		fes["mqtts"] = srv.Door("mqtts")
	})
}
