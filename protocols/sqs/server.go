// Package sqs is mqgate's SQS-compatible API: both of SQS's wire protocols
// (AWS JSON 1.0 and Query) on one HTTP endpoint, all 23 actions, over core's
// queues. An SQS queue is the core queue of the same name in the vhost the
// caller's access key maps to. README.md holds the mapping.
package sqs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
	"github.com/mqgate/mqgate/protocols/internal/httpconn"
	"github.com/mqgate/mqgate/protocols/internal/sigv4"
)

// namespace is the XML namespace of SQS's Query responses.
const namespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// AccessKey maps an AWS access key to a broker user on a vhost.
type AccessKey struct {
	ID     string
	Secret string
	User   string
	VHost  string
}

// Config configures the SQS front-end.
type Config struct {
	// AccountID is the account in queue URLs and ARNs; "" is 000000000000.
	AccountID string
	// Region is the region of ARNs; "" is us-east-1.
	Region string
	// Host is the host[:port] (or scheme://host[:port]) queue URLs advertise;
	// "" uses each request's Host.
	Host string
	// Permissive skips signature verification: a request is served as the
	// access key its credential names when that key is configured, and as
	// the first configured key otherwise. For local development only.
	Permissive bool
	// AccessKeys are the keys requests may be signed with.
	AccessKeys []AccessKey
	// LoopbackUsers may be used only by requests from a loopback address.
	LoopbackUsers []string
	// NoPurgeLimit lets PurgeQueue run more than once in 60 seconds.
	NoPurgeLimit bool
	// NoRecreateDelay lets a deleted queue's name be reused at once, instead
	// of after 60 seconds (QueueDeletedRecently).
	NoRecreateDelay bool
	// MaxRequestBytes bounds a request body; 0 is 8 MiB (a 1 MiB batch in
	// Query form encoding, each byte possibly three).
	MaxRequestBytes int64
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Server serves the SQS API. Create it with New.
type Server struct {
	cfg      Config
	b        *core.Broker
	log      *slog.Logger
	verifier *sigv4.Verifier
	keys     map[string]AccessKey
	loopback map[string]bool
	instance uint64 // tells this process's receipt handles from a previous one's
	handlers map[string]func(*Server, *call) *awsapi.Error

	http   *httpconn.Server
	ctx    context.Context // cancelled by Shutdown: ends long polls
	cancel context.CancelFunc
	closed atomic.Bool
	polls  atomic.Int64 // ReceiveMessage calls waiting in core

	mu         sync.Mutex
	principals map[string]*principal // by user and vhost
	byID       map[uint64]*principal
	nextID     uint64
	deleted    map[string]time.Time // vhost/name → deletion, for QueueDeletedRecently
	purged     map[string]time.Time // vhost/name → last purge

	metas    sync.Map // *core.Queue → *queueMeta
	dlxReady sync.Map // vhost → the dead-letter exchange is declared
	first    firstReceives
	attempts attemptCache
	tasks    moveTasks
}

// New returns an SQS server over broker b.
func New(cfg Config, b *core.Broker, log *slog.Logger) *Server {
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 8 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: b, log: log, keys: map[string]AccessKey{}, loopback: map[string]bool{},
		principals: map[string]*principal{}, byID: map[uint64]*principal{},
		deleted: map[string]time.Time{}, purged: map[string]time.Time{}, handlers: handlers}
	for _, k := range cfg.AccessKeys {
		s.keys[k.ID] = k
	}
	for _, u := range cfg.LoopbackUsers {
		s.loopback[u] = true
	}
	s.verifier = &sigv4.Verifier{Secret: s.secret, Now: cfg.Now}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	s.instance = binary.BigEndian.Uint64(inst[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.tasks.init()
	s.http = httpconn.New(s, httpconn.Options{
		BaseContext: s.ctx,
		IdleTimeout: 120 * time.Second, // above the 20 s long poll (elasticmq#78)
	})
	return s
}

func (s *Server) secret(id string) (string, bool) {
	k, ok := s.keys[id]
	return k.Secret, ok
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeConn serves one connection until it closes (the gateway's door
// accepts it; package httpconn says why not net/http's Server).
func (s *Server) ServeConn(c net.Conn) { s.http.ServeConn(c) }

// Shutdown ends long polls and move tasks, lets requests in progress finish
// (until ctx is done) and closes the broker sessions.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closed.Store(true)
	s.cancel()
	err := s.http.Shutdown(ctx)
	s.tasks.wait()
	s.mu.Lock()
	ps := make([]*principal, 0, len(s.principals))
	for _, p := range s.principals {
		ps = append(ps, p)
	}
	s.principals = map[string]*principal{}
	s.mu.Unlock()
	for _, p := range ps {
		p.conn.Close()
	}
	return err
}

// principal is the broker identity of an access key: one connection and
// session per user and vhost, shared by their requests. Receipt handles name
// it by id, so any caller on the vhost can settle its deliveries.
type principal struct {
	id    uint64
	user  string
	vhost string
	conn  *core.Connection
	sess  *core.Session
}

func (s *Server) principal(user, vhost string) (*principal, *awsapi.Error) {
	key := user + "\x00" + vhost
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.principals[key]; p != nil {
		return p, nil
	}
	if s.closed.Load() {
		return nil, awsapi.ErrServiceUnavailable
	}
	conn, err := s.b.Connect(user, vhost, core.ConnectOptions{Name: "sqs"})
	if err != nil {
		return nil, errAccessDenied.With(err.Error())
	}
	sess, err := conn.OpenSession()
	if err != nil {
		conn.Close()
		return nil, fromCore(err)
	}
	s.nextID++
	p := &principal{id: s.nextID, user: user, vhost: vhost, conn: conn, sess: sess}
	s.principals[key] = p
	s.byID[p.id] = p
	return p, nil
}

func (s *Server) principalByID(id uint64) *principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// authenticate verifies r's signature and maps its access key to a principal.
func (s *Server) authenticate(r *http.Request, body []byte) (*principal, string, *awsapi.Error) {
	var key AccessKey
	if s.cfg.Permissive {
		k, ok := s.keys[credentialKey(r)]
		if !ok {
			if len(s.cfg.AccessKeys) == 0 {
				return nil, "", errAccessDenied.With("No access key is configured.")
			}
			k = s.cfg.AccessKeys[0]
		}
		key = k
	} else {
		id, err := s.verifier.Verify(r, body)
		if err != nil {
			return nil, "", fromSignature(err)
		}
		key = s.keys[id.AccessKeyID]
	}
	if s.loopback[key.User] && !loopbackAddr(r.RemoteAddr) {
		return nil, "", errAccessDenied.With("User '" + key.User + "' can only connect via localhost.")
	}
	p, err := s.principal(key.User, key.VHost)
	return p, key.ID, err
}

// credentialKey returns the access key named by r's signature, unverified.
func credentialKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if _, rest, ok := strings.Cut(a, "Credential="); ok {
			k, _, _ := strings.Cut(rest, "/")
			return k
		}
	}
	k, _, _ := strings.Cut(r.URL.Query().Get("X-Amz-Credential"), "/")
	return k
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// call is one request being served.
type call struct {
	s         *Server
	r         *http.Request
	proto     awsapi.Protocol
	action    string
	id        string
	p         *principal
	akid      string     // the access key the request was signed with
	params    url.Values // Query
	body      []byte     // JSON
	pathQueue string     // the queue named by the request path (Java SDK v1)
	w         *awsapi.Writer
}

var writerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// ServeHTTP serves one SQS request in whichever protocol it speaks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, r: r, proto: awsapi.DetectProtocol(r), id: awsapi.NewRequestID()}
	bp, err := awsapi.ReadBody(r, s.cfg.MaxRequestBytes)
	if err != nil {
		if errors.Is(err, awsapi.ErrTooLarge) {
			awsapi.WriteError(w, c.proto, c.id, awsapi.ErrRequestTooLarge)
		} else {
			awsapi.WriteError(w, c.proto, c.id, awsapi.ErrSerialization.With("Cannot read the request body."))
		}
		return
	}
	defer awsapi.ReleaseBody(bp)
	body := *bp
	if c.proto == awsapi.JSON {
		c.body = body
		c.action = awsapi.JSONAction(r, "AmazonSQS")
	} else {
		if c.params, err = awsapi.ParseQuery(r, body); err != nil {
			awsapi.WriteError(w, c.proto, c.id, errInvalidParameter.With("The request is not a valid form: "+err.Error()))
			return
		}
		c.action = c.params.Get("Action")
	}
	h, ok := s.handlers[c.action]
	if !ok {
		awsapi.WriteError(w, c.proto, c.id, awsapi.ErrInvalidAction.With("The action "+c.action+
			" is not valid for this web service."))
		return
	}
	p, akid, aerr := s.authenticate(r, body)
	if aerr != nil {
		awsapi.WriteError(w, c.proto, c.id, aerr)
		return
	}
	c.p, c.akid = p, akid
	if name, ok := s.nameFromURL(r.URL.Path); ok {
		c.pathQueue = name
	}
	wb := writerBufs.Get().(*[]byte)
	c.w = awsapi.NewWriter(c.proto, namespace, *wb)
	if aerr := h(s, c); aerr != nil {
		if aerr.Status >= 500 {
			s.log.Warn("sqs request failed", "action", c.action, "err", aerr.Message)
		}
		awsapi.WriteError(w, c.proto, c.id, aerr)
	} else {
		if len(c.w.B) == 0 {
			c.w.Begin(c.action, false)
		}
		awsapi.WriteResponse(w, c.proto, c.id, c.w.End(c.id))
	}
	if cap(c.w.B) <= 1<<20 {
		*wb = c.w.B[:0]
		writerBufs.Put(wb)
	}
}

// decode decodes the request into v from whichever protocol it came in.
func (c *call) decode(v any) *awsapi.Error {
	var err error
	if c.proto == awsapi.JSON {
		err = awsapi.DecodeJSON(c.body, v)
	} else {
		err = awsapi.DecodeQuery(c.params, v)
	}
	if err == nil {
		return nil
	}
	var de *awsapi.DecodeError
	if errors.As(err, &de) && c.proto == awsapi.Query {
		return errInvalidParameter.With(de.Error())
	}
	return awsapi.ErrSerialization.With(err.Error())
}

func (c *call) vhost() *core.VHost { return c.s.b.VHost(c.p.vhost) }

// queue resolves the queue of a request: its QueueUrl, else the request path.
func (c *call) queue(queueURL string) (string, *core.Queue, *awsapi.Error) {
	name := c.pathQueue
	if queueURL != "" {
		n, ok := c.s.nameFromURL(queueURL)
		if !ok {
			return "", nil, errQueueDoesNotExist
		}
		name = n
	}
	if name == "" {
		return "", nil, missingParam("QueueUrl")
	}
	vh := c.vhost()
	if vh == nil {
		return "", nil, errQueueDoesNotExist
	}
	q := vh.Queue(name)
	if q == nil {
		return "", nil, errQueueDoesNotExist
	}
	return name, q, nil
}

// meta returns the SQS view of q's settings, parsed once per queue.
func (s *Server) meta(q *core.Queue) *queueMeta {
	if m, ok := s.metas.Load(q); ok {
		return m.(*queueMeta)
	}
	m := metaOf(q.Name(), q.Info().Args)
	s.metas.Store(q, m)
	return m
}

// handlers dispatch on the action name.
var handlers map[string]func(*Server, *call) *awsapi.Error

func init() {
	handlers = map[string]func(*Server, *call) *awsapi.Error{
		"CreateQueue":                  (*Server).handleCreateQueue,
		"DeleteQueue":                  (*Server).handleDeleteQueue,
		"GetQueueUrl":                  (*Server).handleGetQueueURL,
		"ListQueues":                   (*Server).handleListQueues,
		"GetQueueAttributes":           (*Server).handleGetQueueAttributes,
		"SetQueueAttributes":           (*Server).handleSetQueueAttributes,
		"PurgeQueue":                   (*Server).handlePurgeQueue,
		"SendMessage":                  (*Server).handleSendMessage,
		"SendMessageBatch":             (*Server).handleSendMessageBatch,
		"ReceiveMessage":               (*Server).handleReceiveMessage,
		"DeleteMessage":                (*Server).handleDeleteMessage,
		"DeleteMessageBatch":           (*Server).handleDeleteMessageBatch,
		"ChangeMessageVisibility":      (*Server).handleChangeMessageVisibility,
		"ChangeMessageVisibilityBatch": (*Server).handleChangeMessageVisibilityBatch,
		"TagQueue":                     (*Server).handleTagQueue,
		"UntagQueue":                   (*Server).handleUntagQueue,
		"ListQueueTags":                (*Server).handleListQueueTags,
		"AddPermission":                (*Server).handleAddPermission,
		"RemovePermission":             (*Server).handleRemovePermission,
		"ListDeadLetterSourceQueues":   (*Server).handleListDeadLetterSourceQueues,
		"StartMessageMoveTask":         (*Server).handleStartMessageMoveTask,
		"ListMessageMoveTasks":         (*Server).handleListMessageMoveTasks,
		"CancelMessageMoveTask":        (*Server).handleCancelMessageMoveTask,
	}
}
