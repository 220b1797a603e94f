// Package auth holds mqgate's users and their RabbitMQ-style permissions as
// pure logic: password hashes, per-vhost configure/write/read regexes, topic
// permissions on routing keys, the table of which permission each broker
// operation needs, and a concurrency-safe Registry answering "may this user
// do that". It does no I/O and knows no protocol; core asks it and wraps a
// refusal into its own AccessRefused error.
//
// Every rule follows RabbitMQ so that its definitions exports import
// unchanged and its users see the same behaviour and messages:
//
//   - Password hashes are RabbitMQ's: base64(salt ‖ H(salt ‖ password)) with
//     a 4-byte salt and H = SHA-256 by default (rabbit_password.erl,
//     rabbit_password_hashing_sha256.erl; docs/passwords.md). Blank passwords
//     never authenticate (rabbit_auth_backend_internal.erl).
//   - A permission regex is searched for, unanchored, in the resource name
//     (re:run(Name, RE, [{capture, none}]) in rabbit_auth_backend_internal.erl),
//     so "foo" allows "xfoox"; "" is a synonym of "^$".
//   - The default exchange is checked under the name "amq.default"
//     (rabbit_access_control.erl).
//   - A user without a topic permission for an exchange may use every routing
//     key on it; {username}, {vhost} and any caller variable such as
//     {client_id} are expanded in topic patterns, with their values escaped
//     (rabbitmq-server PR #15442).
//   - Users in the loopback list (default "guest") may only log in from a
//     loopback address (rabbit_access_control:check_user_loopback/2).
//
// Regexes are compiled with Go's regexp (RE2), not PCRE: patterns using
// backreferences or lookaround are rejected when set, and "$" matches only at
// the very end of the name, where PCRE also matches before a final newline.
// Queue and exchange names cannot contain newlines in practice (RabbitMQ
// strips CR and LF from them), so only routing keys can tell the difference.
package auth
