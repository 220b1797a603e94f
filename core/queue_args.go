package core

import (
	"fmt"
	"reflect"
	"time"
)

// Queue arguments, in RabbitMQ's names where RabbitMQ has one, and in the same
// style for what SQS needs (visibility timeout, delivery delay, retention,
// FIFO deduplication), so any front-end can set any of them.
const (
	ArgMessageTTL     = "x-message-ttl"
	ArgExpires        = "x-expires"
	ArgMaxLength      = "x-max-length"
	ArgMaxLengthBytes = "x-max-length-bytes"
	ArgOverflow       = "x-overflow"
	ArgDLX            = "x-dead-letter-exchange"
	ArgDLRK           = "x-dead-letter-routing-key"
	ArgMaxPriority    = "x-max-priority"
	ArgSingleActive   = "x-single-active-consumer"
	ArgDeliveryLimit  = "x-delivery-limit"
	ArgQueueType      = "x-queue-type"
	ArgQueueMode      = "x-queue-mode"                  // accepted and ignored, as RabbitMQ ≥3.12 does
	ArgVisibility     = "x-visibility-timeout"          // ms; lease of Get without an explicit one
	ArgDeliveryDelay  = "x-delivery-delay"              // ms
	ArgRetention      = "x-message-retention"           // ms; older messages are dropped, not dead-lettered
	ArgContentDedup   = "x-content-based-deduplication" // bool
	ArgDedupScope     = "x-deduplication-scope"         // "queue" (default) or "messageGroup"
	ArgDedupWindow    = "x-deduplication-window"        // ms; default 5 minutes
)

// Overflow behaviours of a queue with a length limit.
const (
	OverflowDropHead         = "drop-head"
	OverflowRejectPublish    = "reject-publish"
	OverflowRejectPublishDLX = "reject-publish-dlx"
)

// Queue types.
const (
	TypeClassic = "classic"
	TypeQuorum  = "quorum"
	TypeFIFO    = "fifo"
)

// quorumDefaultDeliveryLimit is RabbitMQ 4.0's default for quorum queues.
const quorumDefaultDeliveryLimit = 20

// queueConfig is a queue's parsed arguments.
type queueConfig struct {
	queueType     string
	messageTTL    int64 // ms; -1 none
	expires       int64 // ms; 0 none
	maxLength     int64 // -1 none
	maxBytes      int64 // -1 none
	overflow      string
	dlx           string
	hasDLX        bool
	dlrk          string
	hasDLRK       bool
	maxPriority   int // 0: no priorities
	singleActive  bool
	deliveryLimit int64 // -1 none
	visibility    time.Duration
	deliveryDelay time.Duration
	retention     time.Duration
	contentDedup  bool
	dedupPerGroup bool
	dedupWindow   time.Duration
}

// argError words an invalid argument as RabbitMQ does.
func argError(arg, queue, vhost, why string) *Error {
	return errorf(PreconditionFailed, "invalid arg '%s' for queue '%s' in vhost '%s': %s", arg, queue, vhost, why)
}

func parseQueueArgs(name, vhost string, args Table, durable, exclusive bool) (queueConfig, error) {
	c := queueConfig{queueType: TypeClassic, messageTTL: -1, maxLength: -1, maxBytes: -1,
		overflow: OverflowDropHead, deliveryLimit: -1, dedupWindow: DefaultDedupWindow}
	nonNeg := func(arg string, max int64) (int64, bool, error) {
		v, ok := args[arg]
		if !ok {
			return 0, false, nil
		}
		n, isInt := tableInt(v)
		if !isInt {
			return 0, false, argError(arg, name, vhost, fmt.Sprintf("{unacceptable_type,%T}", v))
		}
		if n < 0 {
			return 0, false, argError(arg, name, vhost, fmt.Sprintf("{value_negative,%d}", n))
		}
		if max > 0 && n > max {
			return 0, false, argError(arg, name, vhost, fmt.Sprintf("{value_too_large,%d,%d}", n, max))
		}
		return n, true, nil
	}
	str := func(arg string) (string, bool, error) {
		v, ok := args[arg]
		if !ok {
			return "", false, nil
		}
		switch s := v.(type) {
		case string:
			return s, true, nil
		case []byte:
			return string(s), true, nil
		}
		return "", false, argError(arg, name, vhost, fmt.Sprintf("{unacceptable_type,%T}", v))
	}
	boolean := func(arg string) (bool, error) {
		v, ok := args[arg]
		if !ok {
			return false, nil
		}
		if b, isBool := v.(bool); isBool {
			return b, nil
		}
		return false, argError(arg, name, vhost, fmt.Sprintf("{unacceptable_type,%T}", v))
	}
	var err error
	var n int64
	var ok bool
	if s, has, e := str(ArgQueueType); e != nil {
		return c, e
	} else if has {
		switch s {
		case TypeClassic, TypeFIFO:
			c.queueType = s
		case TypeQuorum:
			if !durable || exclusive {
				return c, errorf(PreconditionFailed, "invalid property '%s' for queue '%s' in vhost '%s'",
					map[bool]string{true: "exclusive", false: "non-durable"}[exclusive], name, vhost)
			}
			c.queueType = s
			c.deliveryLimit = quorumDefaultDeliveryLimit
		case "stream":
			return c, errorf(NotImplemented, "queue type 'stream' is not supported (queue '%s' in vhost '%s')", name, vhost)
		default:
			return c, argError(ArgQueueType, name, vhost, fmt.Sprintf("{unsupported_type,%q}", s))
		}
	}
	if n, ok, err = nonNeg(ArgMessageTTL, 1<<32-1); err != nil {
		return c, err
	} else if ok {
		c.messageTTL = n
	}
	if n, ok, err = nonNeg(ArgExpires, 1<<32-1); err != nil {
		return c, err
	} else if ok {
		if n == 0 {
			return c, argError(ArgExpires, name, vhost, "{value_zero,0}")
		}
		c.expires = n
	}
	if n, ok, err = nonNeg(ArgMaxLength, 0); err != nil {
		return c, err
	} else if ok {
		c.maxLength = n
	}
	if n, ok, err = nonNeg(ArgMaxLengthBytes, 0); err != nil {
		return c, err
	} else if ok {
		c.maxBytes = n
	}
	if s, has, e := str(ArgOverflow); e != nil {
		return c, e
	} else if has {
		switch s {
		case OverflowDropHead, OverflowRejectPublish, OverflowRejectPublishDLX:
			c.overflow = s
		default:
			return c, argError(ArgOverflow, name, vhost, fmt.Sprintf("{invalid_value,%q}", s))
		}
	}
	if c.dlx, c.hasDLX, err = str(ArgDLX); err != nil {
		return c, err
	}
	if c.dlrk, c.hasDLRK, err = str(ArgDLRK); err != nil {
		return c, err
	}
	if c.hasDLRK && !c.hasDLX {
		return c, argError(ArgDLRK, name, vhost, "x-dead-letter-routing-key requires x-dead-letter-exchange")
	}
	if n, ok, err = nonNeg(ArgMaxPriority, 255); err != nil {
		return c, err
	} else if ok {
		c.maxPriority = int(n)
	}
	if c.singleActive, err = boolean(ArgSingleActive); err != nil {
		return c, err
	}
	if n, ok, err = nonNeg(ArgDeliveryLimit, 0); err != nil {
		return c, err
	} else if ok {
		c.deliveryLimit = n
	}
	if n, ok, err = nonNeg(ArgVisibility, int64(12*time.Hour/time.Millisecond)); err != nil {
		return c, err
	} else if ok {
		c.visibility = time.Duration(n) * time.Millisecond
	}
	if n, ok, err = nonNeg(ArgDeliveryDelay, 0); err != nil {
		return c, err
	} else if ok {
		c.deliveryDelay = time.Duration(n) * time.Millisecond
	}
	if n, ok, err = nonNeg(ArgRetention, 0); err != nil {
		return c, err
	} else if ok {
		c.retention = time.Duration(n) * time.Millisecond
	}
	if c.contentDedup, err = boolean(ArgContentDedup); err != nil {
		return c, err
	}
	if s, has, e := str(ArgDedupScope); e != nil {
		return c, e
	} else if has {
		switch s {
		case "queue":
		case "messageGroup":
			c.dedupPerGroup = true
		default:
			return c, argError(ArgDedupScope, name, vhost, fmt.Sprintf("{invalid_value,%q}", s))
		}
	}
	if n, ok, err = nonNeg(ArgDedupWindow, 0); err != nil {
		return c, err
	} else if ok {
		c.dedupWindow = time.Duration(n) * time.Millisecond
	}
	return c, nil
}

// equivalenceArgs are the arguments a redeclaration must repeat exactly, as
// RabbitMQ checks them (rabbit_amqqueue:check_arguments / assert_args_equivalence).
var equivalenceArgs = []string{ArgMessageTTL, ArgExpires, ArgMaxLength, ArgMaxLengthBytes, ArgOverflow,
	ArgDLX, ArgDLRK, ArgMaxPriority, ArgSingleActive, ArgDeliveryLimit, ArgQueueType}

// sameArg compares argument values across integer widths and string forms: a
// client may send x-message-ttl as int32 once and as int64 the next time.
func sameArg(a, b any) bool {
	if x, ok := tableInt(a); ok {
		y, ok2 := tableInt(b)
		return ok2 && x == y
	}
	as, aok := argString(a)
	bs, bok := argString(b)
	if aok || bok {
		return aok && bok && as == bs
	}
	return reflect.DeepEqual(a, b)
}

func argString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}
