package route

import "strings"

// TopicMatch reports whether routing key matches binding pattern. It is the
// definition the Topic trie is tested and fuzzed against, so it is written for
// obviousness, not speed: split both as RabbitMQ's split_topic_key does ("" has
// no words), then match word lists by the recursive rule, memoised so that
// patterns with many '#' stay polynomial.
func TopicMatch(pattern, key string) bool {
	p, k := wordList(pattern), wordList(key)
	memo := make([]int8, (len(p)+1)*(len(k)+1)) // 0 unknown, 1 true, -1 false
	var match func(i, j int) bool               // p[i:] matches k[j:]
	match = func(i, j int) bool {
		m := &memo[i*(len(k)+1)+j]
		if *m != 0 {
			return *m > 0
		}
		var r bool
		switch {
		case i == len(p):
			r = j == len(k)
		case p[i] == "#": // zero words, or one more word
			r = match(i+1, j) || (j < len(k) && match(i, j+1))
		case j == len(k):
			r = false
		case p[i] == "*" || p[i] == k[j]:
			r = match(i+1, j+1)
		}
		*m = -1
		if r {
			*m = 1
		}
		return r
	}
	return match(0, 0)
}

func wordList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}
