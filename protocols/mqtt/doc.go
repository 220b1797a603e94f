// Package mqtt is the MQTT 3.1, 3.1.1 and 5.0 front-end: mochi-mqtt for the
// packets, handshakes, keep-alive and session takeover, the core engine for
// routing, queues and storage. README.md has the design, the mappings between
// MQTT and core, and what is not done.
package mqtt
