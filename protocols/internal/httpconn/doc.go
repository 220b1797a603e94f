// Package httpconn serves HTTP/1.1 on connections the gateway accepts, for
// the AWS-compatible front-ends (SQS, SNS): one request at a time per
// connection, parsed by net/http's own http.ReadRequest, answered by an
// http.Handler, the response written with one system call.
//
// Why not net/http's Server: for every request it starts a goroutine that
// reads one byte ahead (to cancel the request's context if the client goes
// away), then wakes it and waits for it when the handler returns; it also
// makes a cancellable context, snapshots the handler's header map and writes
// through a chunking layer. On the 2-core benchmark machine, with 16 SDK
// clients calling GetQueueUrl, this package took mqgate's CPU per request
// from 0.70–0.77 times the clients' to 0.61–0.62 (about 10 µs less a
// request), and in the SQS throughput benchmark from 1.18 to 1.14 times
// theirs per message (means of nine interleaved pairs; README.md).
//
// What it keeps of net/http's server: the request parser with its checks
// (header syntax, Content-Length and Transfer-Encoding framing), a limit on
// the header section (431), a missing Host refused (400), Expect:
// 100-continue, HTTP/1.0 and Connection: close, the idle and header
// timeouts, a Date header, an unread body drained up to 256 KiB before the
// connection is reused, and graceful shutdown. Unlike it, a body that has
// not arrived whole within the idle timeout (120 s for SQS) of its header
// ends the connection. The request's context is cancelled when the client
// closes the connection, as net/http does, but the one-byte read that
// notices it starts only when the handler first asks for ctx.Done() (an SQS
// long poll about to wait), not for every request.
//
// What it leaves out, as the AWS front-ends need none of it: HTTP/2,
// streaming and chunked responses (a response is buffered and sent with its
// Content-Length), trailers, hijacking, and content sniffing.
package httpconn
