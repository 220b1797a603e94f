package sqs

import (
	"net/http"
	"net/url"
	"strings"
)

// maxQueueName is SQS's limit on a queue name, ".fifo" included.
const maxQueueName = 80

// validQueueName reports whether name is a valid SQS queue name: 1 to 80 of
// [A-Za-z0-9_-], with the suffix ".fifo" for a FIFO queue (and only then).
func validQueueName(name string) bool {
	if len(name) == 0 || len(name) > maxQueueName {
		return false
	}
	base := strings.TrimSuffix(name, ".fifo")
	if base == "" {
		return false
	}
	for i := 0; i < len(base); i++ {
		if !idChar(base[i]) {
			return false
		}
	}
	return true
}

func isFIFOName(name string) bool { return strings.HasSuffix(name, ".fifo") }

// idChar is the alphabet of queue names and batch entry ids.
func idChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// validBatchID reports whether id is a valid batch entry Id: 1 to 80 of
// [A-Za-z0-9_-].
func validBatchID(id string) bool {
	if id == "" || len(id) > 80 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return false
		}
	}
	return true
}

// baseURL is the scheme and host queue URLs advertise: the configured host,
// or the request's Host (so a client reaches the queue the way it reached
// us), over https when the request came over TLS.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := s.cfg.Host
	if host == "" {
		host = r.Host
	}
	if strings.Contains(host, "://") {
		return strings.TrimSuffix(host, "/")
	}
	return scheme + "://" + host
}

// queueURL is the URL of queue name: base/<account>/<name>.
func (s *Server) queueURL(base, name string) string {
	return base + "/" + s.cfg.AccountID + "/" + name
}

// queueARN is the ARN of queue name.
func (s *Server) queueARN(name string) string {
	return "arn:aws:sqs:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + name
}

// nameFromARN returns the queue named by an SQS ARN of our account (any
// region is accepted, as any host is in a URL).
func (s *Server) nameFromARN(arn string) (string, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[4] != s.cfg.AccountID || p[5] == "" {
		return "", false
	}
	return p[5], true
}

// nameFromURL resolves a QueueUrl by its path /<account>/<name>, whatever its
// host: clients in containers reach us under names we cannot know. The
// path-only form and goaws's /queue/<name> are accepted too.
func (s *Server) nameFromURL(raw string) (string, bool) {
	path := raw
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", false
		}
		path = u.Path
	}
	path = strings.Trim(path, "/")
	acct, name, ok := strings.Cut(path, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	if acct != s.cfg.AccountID && acct != "queue" {
		return "", false
	}
	return name, true
}
