// Package gateway is mqgate's composition root. It reads the configuration,
// opens the store (durable in the data directory, or in memory), creates the
// core broker, applies the configured vhosts, users and permissions, and owns
// the lifecycle of every front door: listeners bound with or without TLS, the
// goroutines serving them, and an orderly Shutdown.
//
// It is the only package that imports every front-end. No front-end exists
// yet, so today a started Gateway holds the engine and its store and listens
// on nothing; the listener configuration and the serving machinery are in
// place for the front-ends to plug into.
package gateway
