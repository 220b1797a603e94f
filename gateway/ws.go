package gateway

import (
	"log/slog"
	"net"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/mqtt"
	"github.com/mqgate/mqgate/protocols/ws"
)

// The WebSocket transport serves the door "web_mqtt" at /ws and /mqtt, as
// RabbitMQ's Web-MQTT does, with the subprotocols "mqtt" (MQTT 3.1.1 and 5)
// and "mqttv3.1". Its connections go to the MQTT front-end of the doors
// "mqtt" and "mqtts" (mqtt.go), looked up when a connection arrives, so the
// order the builders run in does not matter.
func init() {
	frontEndBuilders = append(frontEndBuilders, func(fes map[string]frontEnd, _ *core.Broker, cfg Config, log *slog.Logger) {
		srv := ws.New(cfg.WebSocket, log.With("proto", "web_mqtt"))
		srv.Handle(ws.Route{Paths: []string{"/ws", "/mqtt"}, Subprotocols: []string{"mqtt", "mqttv3.1"},
			Serve: func(c net.Conn) {
				if d, ok := fes["mqtt"].(*mqtt.Door); ok {
					d.Server().ServeConn("web_mqtt", c)
				}
			}})
		fes["web_mqtt"] = srv
	})
}
