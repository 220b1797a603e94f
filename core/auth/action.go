package auth

import "fmt"

// Action is a broker operation that RabbitMQ guards with resource
// permissions. Each Action is one row of RabbitMQ's AMQP 0-9-1 table
// (docs/access-control.md, "How Permissions Work"); every front-end maps its
// own operations onto these.
type Action uint8

// Actions.
const (
	DeclareQueue           Action = iota // declare a queue (passive=false), including redeclaring one
	DeclareQueueDLX                      // declare that creates a queue with x-dead-letter-exchange
	DeclareQueuePassive                  // check that a queue exists
	DeleteQueue                          // delete a queue
	DeclareExchange                      // declare an exchange (passive=false), including redeclaring one
	DeclareExchangeAE                    // declare that creates an exchange with alternate-exchange
	DeclareExchangePassive               // check that an exchange exists
	DeleteExchange                       // delete an exchange
	BindQueue                            // bind a queue to an exchange
	UnbindQueue                          // unbind a queue from an exchange
	BindExchange                         // bind an exchange (destination) to an exchange (source)
	UnbindExchange                       // unbind an exchange from an exchange
	Publish                              // publish to an exchange
	Consume                              // consume from a queue
	Get                                  // fetch one message from a queue
	Purge                                // purge a queue
	numActions
)

var actionNames = [numActions]string{
	"declare queue", "declare queue with dead-letter exchange", "declare queue passively", "delete queue",
	"declare exchange", "declare exchange with alternate exchange", "declare exchange passively", "delete exchange",
	"bind queue", "unbind queue", "bind exchange", "unbind exchange",
	"publish", "consume", "get", "purge",
}

func (a Action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", a)
}

// Operand says which of an operation's named resources a Check applies to.
type Operand uint8

// Operands.
const (
	OnQueue              Operand = iota // the queue the operation names
	OnExchange                          // the exchange the operation names; for a binding, the source
	OnDestination                       // the destination exchange of an exchange-to-exchange binding
	OnDeadLetterExchange                // the queue's x-dead-letter-exchange argument
	OnAlternateExchange                 // the exchange's alternate-exchange argument
)

// Type returns the resource type the operand names.
func (o Operand) Type() ResourceType {
	if o == OnQueue {
		return Queue
	}
	return Exchange
}

func (o Operand) String() string {
	switch o {
	case OnQueue:
		return "queue"
	case OnExchange:
		return "exchange"
	case OnDestination:
		return "exchange (destination)"
	case OnDeadLetterExchange:
		return "exchange (DLX)"
	case OnAlternateExchange:
		return "exchange (AE)"
	}
	return fmt.Sprintf("Operand(%d)", o)
}

// Check is one permission an Action needs: Perm on the resource named by On.
type Check struct {
	Perm Kind
	On   Operand
}

// needs is RabbitMQ's table. Within a row the checks are in the order
// rabbit_channel.erl makes them, so the first refusal is the one RabbitMQ
// reports: a binding checks write on the destination before read on the
// source (binding_action_with_checks/10); a creating declare with a DLX or AE
// checks configure, then read on the declared resource, then write on the
// DLX or AE. Passive declares check nothing: they only reveal existence.
var needs = [numActions][]Check{
	DeclareQueue:           {{Configure, OnQueue}},
	DeclareQueueDLX:        {{Configure, OnQueue}, {Read, OnQueue}, {Write, OnDeadLetterExchange}},
	DeclareQueuePassive:    nil,
	DeleteQueue:            {{Configure, OnQueue}},
	DeclareExchange:        {{Configure, OnExchange}},
	DeclareExchangeAE:      {{Configure, OnExchange}, {Read, OnExchange}, {Write, OnAlternateExchange}},
	DeclareExchangePassive: nil,
	DeleteExchange:         {{Configure, OnExchange}},
	BindQueue:              {{Write, OnQueue}, {Read, OnExchange}},
	UnbindQueue:            {{Write, OnQueue}, {Read, OnExchange}},
	BindExchange:           {{Write, OnDestination}, {Read, OnExchange}},
	UnbindExchange:         {{Write, OnDestination}, {Read, OnExchange}},
	Publish:                {{Write, OnExchange}},
	Consume:                {{Read, OnQueue}},
	Get:                    {{Read, OnQueue}},
	Purge:                  {{Read, OnQueue}},
}

// Need returns the checks a needs, in the order to make them. The slice is
// shared: do not modify it. An unknown Action panics rather than needing
// nothing, so that a new operation cannot slip through unchecked.
//
// DeclareQueueDLX and DeclareExchangeAE apply only when the declare creates
// the resource; redeclaring an existing one is DeclareQueue or
// DeclareExchange, as in rabbit_channel.erl.
func Need(a Action) []Check {
	if a >= numActions {
		panic("auth: unknown " + a.String())
	}
	c := needs[a]
	return c[:len(c):len(c)]
}

// TopicCheck reports the topic permission a also needs on a topic exchange,
// checked on the routing key after the resource checks pass: Write for
// Publish, Read for binding and unbinding (rabbit_channel.erl:
// check_write_permitted_on_topics, check_read_permitted_on_topic).
func (a Action) TopicCheck() (Kind, bool) {
	switch a {
	case Publish:
		return Write, true
	case BindQueue, UnbindQueue, BindExchange, UnbindExchange:
		return Read, true
	}
	return 0, false
}
