package gateway

import (
	"context"
	"log/slog"
	"net"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp"
)

// The AMQP 0-9-1 front-end serves the doors "amqp" and "amqps" (the same
// server; the door's listener does TLS).
func init() {
	frontEndBuilders = append(frontEndBuilders, func(fes map[string]frontEnd, b *core.Broker, _ Config, log *slog.Logger) {
		srv := amqp.New(amqp.Config{}, b, log)
		fe := amqpFrontEnd{srv}
		fes["amqp"] = fe
		fes["amqps"] = fe
	})
}

// amqpFrontEnd hides the server's own Serve, so that the door accepts and
// tracks the connections itself.
type amqpFrontEnd struct{ srv *amqp.Server }

func (f amqpFrontEnd) ServeConn(c net.Conn) { f.srv.ServeConn(c) }

func (f amqpFrontEnd) Shutdown(ctx context.Context) error { return f.srv.Shutdown(ctx) }
