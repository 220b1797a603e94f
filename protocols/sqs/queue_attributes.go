package sqs

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// SQS settings core does not interpret live in the queue's arguments under
// x-sqs-, so they persist with the queue; the rest are core's own arguments
// (README: "Queue attributes").
const (
	argVisibility     = "x-sqs-visibility-timeout"                // seconds
	argWaitTime       = "x-sqs-receive-message-wait-time-seconds" // seconds
	argMaxSize        = "x-sqs-maximum-message-size"              // bytes
	argPolicy         = "x-sqs-policy"                            // JSON text
	argRedrive        = "x-sqs-redrive-policy"                    // JSON text, normalised
	argRedriveAllow   = "x-sqs-redrive-allow-policy"              // JSON text, normalised
	argThroughput     = "x-sqs-fifo-throughput-limit"             // perQueue | perMessageGroupId
	argKMSKey         = "x-sqs-kms-master-key-id"                 // string
	argKMSReuse       = "x-sqs-kms-data-key-reuse-period-seconds" // seconds
	argSSE            = "x-sqs-sqs-managed-sse-enabled"           // bool
	argCreated        = "x-sqs-created-timestamp"                 // epoch seconds
	argModified       = "x-sqs-last-modified-timestamp"           // epoch seconds
	argTags           = "x-sqs-tags"                              // table
	defaultRetention  = 345600                                    // seconds: 4 days
	defaultVisibility = 30                                        // seconds
	maxMessageSize    = 1 << 20                                   // 1 MiB since 2025-08-04
	dlxExchange       = "sqs.dead-letter"                         // where SQS queues dead-letter, keyed by source name
)

// queueMeta is what the SQS front-end needs to know of a queue on every
// message, parsed once from its arguments.
type queueMeta struct {
	name       string
	fifo       bool
	visibility int64 // seconds
	wait       int64 // seconds
	maxSize    int
	hasDLX     bool // declared with SQS's dead-letter wiring
	// contentDedup: the deduplication id of a FIFO message without one is
	// the SHA-256 of its body.
	contentDedup bool
}

func argInt(args core.Table, k string, def int64) int64 {
	switch v := args[k].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int:
		return int64(v)
	case uint32:
		return int64(v)
	case int16:
		return int64(v)
	case int8:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	}
	return def
}

func argStr(args core.Table, k string) (string, bool) {
	switch v := args[k].(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

func argBool(args core.Table, k string, def bool) bool {
	if b, ok := args[k].(bool); ok {
		return b
	}
	return def
}

func metaOf(name string, args core.Table) *queueMeta {
	t, _ := argStr(args, core.ArgQueueType)
	dlx, _ := argStr(args, core.ArgDLX)
	return &queueMeta{
		name:         name,
		fifo:         t == core.TypeFIFO,
		visibility:   argInt(args, argVisibility, defaultVisibility),
		wait:         argInt(args, argWaitTime, 0),
		maxSize:      int(argInt(args, argMaxSize, maxMessageSize)),
		hasDLX:       dlx == dlxExchange,
		contentDedup: argBool(args, core.ArgContentDedup, false),
	}
}

// attrSpec describes one queue attribute.
type attrSpec struct {
	fifoOnly   bool
	readOnly   bool
	createOnly bool
	// set validates value and writes it into args.
	set func(c *attrContext, args core.Table, value string) *awsapi.Error
	// get renders the attribute, reporting false when the queue has none.
	get func(v *queueView) (string, bool)
}

// attrContext is what setting an attribute may need to look at.
type attrContext struct {
	s    *Server
	vh   *core.VHost
	name string
	fifo bool
}

// queueView is a queue as GetQueueAttributes reads it.
type queueView struct {
	s    *Server
	name string
	info core.QueueInfo
}

func badValue(name string) *awsapi.Error {
	return errInvalidAttributeValue.With("Invalid value for the parameter " + name + ".")
}

// intAttr is an integer attribute in [lo, hi] stored in arg scaled by mult
// (1000 for core's milliseconds).
func intAttr(name, arg string, lo, hi, def, mult int64) attrSpec {
	return attrSpec{
		set: func(_ *attrContext, args core.Table, v string) *awsapi.Error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < lo || n > hi {
				return badValue(name)
			}
			args[arg] = n * mult
			return nil
		},
		get: func(q *queueView) (string, bool) {
			return strconv.FormatInt(argInt(q.info.Args, arg, def*mult)/mult, 10), true
		},
	}
}

func boolAttr(name, arg string, def bool, fifoOnly bool) attrSpec {
	return attrSpec{
		fifoOnly: fifoOnly,
		set: func(_ *attrContext, args core.Table, v string) *awsapi.Error {
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return badValue(name)
			}
			args[arg] = b
			return nil
		},
		get: func(q *queueView) (string, bool) {
			return strconv.FormatBool(argBool(q.info.Args, arg, def)), true
		},
	}
}

func counter(f func(core.QueueInfo) int) attrSpec {
	return attrSpec{readOnly: true, get: func(q *queueView) (string, bool) { return strconv.Itoa(f(q.info)), true }}
}

// queueAttributes are the attributes of the QueueAttributeName enum.
var queueAttributes = map[string]attrSpec{
	"VisibilityTimeout":             intAttr("VisibilityTimeout", argVisibility, 0, 43200, defaultVisibility, 1),
	"MaximumMessageSize":            intAttr("MaximumMessageSize", argMaxSize, 1024, maxMessageSize, maxMessageSize, 1),
	"MessageRetentionPeriod":        intAttr("MessageRetentionPeriod", core.ArgRetention, 60, 1209600, defaultRetention, 1000),
	"DelaySeconds":                  intAttr("DelaySeconds", core.ArgDeliveryDelay, 0, 900, 0, 1000),
	"ReceiveMessageWaitTimeSeconds": intAttr("ReceiveMessageWaitTimeSeconds", argWaitTime, 0, 20, 0, 1),
	"KmsDataKeyReusePeriodSeconds":  intAttr("KmsDataKeyReusePeriodSeconds", argKMSReuse, 60, 86400, 300, 1),
	"SqsManagedSseEnabled":          boolAttr("SqsManagedSseEnabled", argSSE, true, false),
	"ContentBasedDeduplication":     boolAttr("ContentBasedDeduplication", core.ArgContentDedup, false, true),
	"KmsMasterKeyId": {
		set: func(_ *attrContext, args core.Table, v string) *awsapi.Error {
			setOrDelete(args, argKMSKey, v)
			return nil
		},
		get: func(q *queueView) (string, bool) { return argStr(q.info.Args, argKMSKey) },
	},
	"Policy": {
		set: func(_ *attrContext, args core.Table, v string) *awsapi.Error {
			if v != "" && !isJSONObject(v) {
				return badValue("Policy")
			}
			setOrDelete(args, argPolicy, v)
			return nil
		},
		get: func(q *queueView) (string, bool) { return argStr(q.info.Args, argPolicy) },
	},
	"RedrivePolicy": {
		set: setRedrivePolicy,
		get: func(q *queueView) (string, bool) { return argStr(q.info.Args, argRedrive) },
	},
	"RedriveAllowPolicy": {
		set: setRedriveAllowPolicy,
		get: func(q *queueView) (string, bool) { return argStr(q.info.Args, argRedriveAllow) },
	},
	"FifoQueue": {
		fifoOnly: true, createOnly: true,
		set: func(c *attrContext, _ core.Table, v string) *awsapi.Error {
			if v != "true" && v != "false" {
				return badValue("FifoQueue")
			}
			return nil
		},
		get: func(q *queueView) (string, bool) { return "true", true },
	},
	"DeduplicationScope": {
		fifoOnly: true,
		set: func(_ *attrContext, args core.Table, v string) *awsapi.Error {
			if v != "queue" && v != "messageGroup" {
				return badValue("DeduplicationScope")
			}
			args[core.ArgDedupScope] = v
			return nil
		},
		get: func(q *queueView) (string, bool) {
			v, ok := argStr(q.info.Args, core.ArgDedupScope)
			if !ok {
				v = "queue"
			}
			return v, true
		},
	},
	"FifoThroughputLimit": {
		fifoOnly: true,
		set: func(_ *attrContext, args core.Table, v string) *awsapi.Error {
			if v != "perQueue" && v != "perMessageGroupId" {
				return badValue("FifoThroughputLimit")
			}
			args[argThroughput] = v
			return nil
		},
		get: func(q *queueView) (string, bool) {
			v, ok := argStr(q.info.Args, argThroughput)
			if !ok {
				v = "perQueue"
			}
			return v, true
		},
	},
	"QueueArn": {readOnly: true, get: func(q *queueView) (string, bool) { return q.s.queueARN(q.name), true }},
	"CreatedTimestamp": {readOnly: true, get: func(q *queueView) (string, bool) {
		return strconv.FormatInt(argInt(q.info.Args, argCreated, 0), 10), true
	}},
	"LastModifiedTimestamp": {readOnly: true, get: func(q *queueView) (string, bool) {
		return strconv.FormatInt(argInt(q.info.Args, argModified, 0), 10), true
	}},
	"ApproximateNumberOfMessages":           counter(func(i core.QueueInfo) int { return i.Ready }),
	"ApproximateNumberOfMessagesNotVisible": counter(func(i core.QueueInfo) int { return i.Unacked }),
	"ApproximateNumberOfMessagesDelayed":    counter(func(i core.QueueInfo) int { return i.Delayed }),
}

func setOrDelete(args core.Table, k, v string) {
	if v == "" {
		delete(args, k)
	} else {
		args[k] = v
	}
}

func isJSONObject(s string) bool {
	var m map[string]any
	return json.Unmarshal([]byte(s), &m) == nil
}

// applyAttributes validates attrs and writes them into args. create allows
// the create-only FifoQueue.
func applyAttributes(c *attrContext, args core.Table, attrs map[string]string, create bool) *awsapi.Error {
	for name, v := range attrs {
		spec, ok := queueAttributes[name]
		if !ok || spec.readOnly || (spec.createOnly && !create) {
			return errInvalidAttributeName.With("Unknown Attribute " + name + ".")
		}
		if spec.fifoOnly && !c.fifo {
			if name == "FifoQueue" && v == "false" {
				continue
			}
			return errInvalidAttributeName.With("Unknown Attribute " + name + ".")
		}
		if err := spec.set(c, args, v); err != nil {
			return err
		}
	}
	if c.fifo {
		scope, _ := argStr(args, core.ArgDedupScope)
		limit, _ := argStr(args, argThroughput)
		if limit == "perMessageGroupId" && scope != "messageGroup" {
			return errInvalidAttributeValue.With("The FifoThroughputLimit perMessageGroupId requires the " +
				"DeduplicationScope messageGroup.")
		}
	}
	return nil
}

// readAttributes renders the attributes names selects ("All" for every one
// the queue has).
func readAttributes(v *queueView, fifo bool, names []string) (map[string]string, *awsapi.Error) {
	out := map[string]string{}
	all := false
	for _, n := range names {
		if n == "All" {
			all = true
			continue
		}
		if _, ok := queueAttributes[n]; !ok {
			return nil, errInvalidAttributeName.With("Unknown Attribute " + n + ".")
		}
	}
	for n, spec := range queueAttributes {
		if spec.fifoOnly && !fifo {
			continue
		}
		if !all && !contains(names, n) {
			continue
		}
		if val, ok := spec.get(v); ok {
			out[n] = val
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// newQueueArgs are the arguments of a queue SQS creates: its defaults, SQS's
// dead-letter wiring (the source's name as routing key to the vhost's
// sqs.dead-letter exchange, where RedrivePolicy binds the DLQ) and its
// timestamps.
func newQueueArgs(name string, fifo bool, now time.Time) core.Table {
	args := core.Table{
		core.ArgRetention: int64(defaultRetention * 1000),
		core.ArgDLX:       dlxExchange,
		core.ArgDLRK:      name,
		argCreated:        now.Unix(),
		argModified:       now.Unix(),
	}
	if fifo {
		args[core.ArgQueueType] = core.TypeFIFO
	}
	return args
}
