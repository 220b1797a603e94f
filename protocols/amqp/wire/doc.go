// Package wire is the AMQP 0-9-1 wire codec: frames, methods, content headers
// and field tables, as RabbitMQ and its clients speak them.
//
// The method structs, their encoders and decoders, the class, method and reply
// code constants, the content-header Properties and ServerMustHandle are
// generated from the spec XML into methods_gen.go by ./internal/gen; the rest
// is written by hand:
//
//   - frame.go: Frame, FrameReader (frame-max checked before allocating,
//     frame-end checked) and the protocol header (AMQP 0-9-1 §4.2.2, §4.2.3);
//   - append.go: append-style encoders of method, content header, body and
//     heartbeat frames, so one writer can coalesce many frames into one write;
//   - header.go: the content header frame (§4.2.6);
//   - table.go: field tables and arrays with RabbitMQ's type letters;
//   - method.go: the Method interface and MethodKey;
//   - codec.go: the primitive readers and writers the generated code calls;
//   - errors.go: *Error, which carries the reply code a server answers with.
//
// Decoding never trusts a length: each is checked against the bytes that
// remain before anything is allocated, and tables nest at most 64 deep.
// Decoders copy what they keep, so the frame buffer can be reused.
//
// Field tables are core.Table values. The type letters are RabbitMQ's (its
// 0-9-1 errata), not the 0-9-1 spec's, which disagree for 's', 'l' and others:
//
//	t bool   b int8    B uint8   s int16   u uint16   I int32   i uint32
//	l int64  f float32 d float64 D core.Decimal       T time.Time (seconds)
//	S string x []byte  F core.Table           A []any           V nil
//
// As in amqp091-go, 'S' decodes to string and 'x' to []byte, and string
// encodes as 'S' and []byte as 'x'; a Go string holds any octets, so binary
// data a client sends as 'S' survives. int encodes as 'l', and uint64 as 'l'
// when it fits. Clients that predate 'u' and 'i' (amqp091-go among them)
// cannot read uint16 and uint32 values; a server that wants them to should
// widen such values to int32 and int64 before it encodes.
//
// The package imports only the standard library and core.
package wire

//go:generate go run ./internal/gen
