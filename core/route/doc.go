// Package route holds the two routing predicates of AMQP exchanges whose
// bindings are more than a name: topic patterns and header tables. Both follow
// RabbitMQ exactly, because clients moved from RabbitMQ must route the same.
//
// # Topic
//
// A routing key and a binding pattern are lists of words separated by '.'.
// Words may be empty ("a..b" has three words, "a." two, the second empty), but
// the empty string has no words at all: RabbitMQ's split_topic_key returns []
// for <<>>. So pattern "*" does not match key "" while "#" and "" do, and "a.*"
// matches "a." (one empty last word). In a pattern the word "*" matches exactly
// one word and "#" zero or more; any other word, including one that merely
// contains '*' or '#' ("a*b"), matches only itself.
//
// [Topic] is the index an exchange keeps: a trie of patterns walked as an NFA
// over the key's words (one visit per node and word position, so "#.#.*.#" is
// linear in the key, not exponential), fronted by a bounded, lock-free match
// cache. [TopicMatch] is the plain definition the trie is tested and fuzzed
// against.
//
// # Headers
//
// [MatchHeaders] is the headers exchange predicate with x-match all, any,
// all-with-x and any-with-x, and [ValidHeadersArgs] the bind-time check of
// x-match. The value comparison is RabbitMQ's (rabbit_exchange_type_headers):
// see [MatchHeaders] for the rule and where mqgate departs from it.
//
// The package imports only the standard library so that core, and nothing
// else, decides what a destination is.
package route
