package gateway

import (
	"log/slog"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/sqs"
)

// The SQS API serves the door "http_api": the door accepts (its listener
// does TLS) and hands each connection to the front-end's ServeConn.
func init() {
	frontEndBuilders = append(frontEndBuilders, func(fes map[string]frontEnd, b *core.Broker, cfg Config, log *slog.Logger) {
		fes["http_api"] = sqs.New(sqsConfig(cfg), b, log.With("proto", "sqs"))
	})
}

func sqsConfig(cfg Config) sqs.Config {
	c := sqs.Config{
		AccountID:       cfg.SQS.AccountID,
		Region:          cfg.SQS.Region,
		Host:            cfg.SQS.Host,
		Permissive:      cfg.SQS.Permissive,
		LoopbackUsers:   cfg.LoopbackUsers,
		NoPurgeLimit:    !cfg.SQS.EnforcePurgeInterval,
		NoRecreateDelay: !cfg.SQS.EnforceRecreateDelay,
	}
	for _, k := range cfg.SQS.AccessKeys {
		c.AccessKeys = append(c.AccessKeys, sqs.AccessKey{ID: k.AccessKeyID, Secret: k.SecretAccessKey, User: k.User, VHost: k.VHost})
	}
	return c
}
