package auth

import (
	"slices"
	"strings"
	"testing"
)

// rabbitTable is RabbitMQ's AMQP 0-9-1 permission table, copied cell by cell
// from docs/access-control.md ("How Permissions Work"): the resources needing
// configure, write and read for each operation.
var rabbitTable = []struct {
	a                      Action
	row                    string // the table's operation column, for failure messages
	configure, write, read string
}{
	{DeclareExchange, "exchange.declare (passive=false)", "exchange", "", ""},
	{DeclareExchangePassive, "exchange.declare (passive=true)", "", "", ""},
	{DeclareExchangeAE, "exchange.declare (with AE)", "exchange", "exchange (AE)", "exchange"},
	{DeleteExchange, "exchange.delete", "exchange", "", ""},
	{DeclareQueue, "queue.declare (passive=false)", "queue", "", ""},
	{DeclareQueuePassive, "queue.declare (passive=true)", "", "", ""},
	{DeclareQueueDLX, "queue.declare (with DLX)", "queue", "exchange (DLX)", "queue"},
	{DeleteQueue, "queue.delete", "queue", "", ""},
	{BindExchange, "exchange.bind", "", "exchange (destination)", "exchange (source)"},
	{UnbindExchange, "exchange.unbind", "", "exchange (destination)", "exchange (source)"},
	{BindQueue, "queue.bind", "", "queue", "exchange"},
	{UnbindQueue, "queue.unbind", "", "queue", "exchange"},
	{Publish, "basic.publish", "", "exchange", ""},
	{Get, "basic.get", "", "", "queue"},
	{Consume, "basic.consume", "", "", "queue"},
	{Purge, "queue.purge", "", "", "queue"},
}

func TestNeedMatchesRabbitMQTable(t *testing.T) {
	seen := map[Action]bool{}
	for _, row := range rabbitTable {
		seen[row.a] = true
		var cols [3][]string
		for _, c := range Need(row.a) {
			cell := c.On.String()
			if c.On == OnExchange && (row.a == BindExchange || row.a == UnbindExchange) {
				cell = "exchange (source)" // OnExchange is a binding's source
			}
			cols[c.Perm] = append(cols[c.Perm], cell)
		}
		got := [3]string{strings.Join(cols[0], ","), strings.Join(cols[1], ","), strings.Join(cols[2], ",")}
		want := [3]string{row.configure, row.write, row.read}
		if got != want {
			t.Errorf("%s (%v): configure/write/read = %q, want %q", row.row, row.a, got, want)
		}
	}
	for a := range numActions {
		if !seen[a] {
			t.Errorf("%v is not in RabbitMQ's table", a)
		}
	}
}

// TestNeedOrder pins the order of the checks to rabbit_channel.erl's, which
// decides the refusal reported when several would fail.
func TestNeedOrder(t *testing.T) {
	tests := []struct {
		a    Action
		want []Check
	}{
		{BindQueue, []Check{{Write, OnQueue}, {Read, OnExchange}}},
		{BindExchange, []Check{{Write, OnDestination}, {Read, OnExchange}}},
		{DeclareQueueDLX, []Check{{Configure, OnQueue}, {Read, OnQueue}, {Write, OnDeadLetterExchange}}},
		{DeclareExchangeAE, []Check{{Configure, OnExchange}, {Read, OnExchange}, {Write, OnAlternateExchange}}},
	}
	for _, tt := range tests {
		if got := Need(tt.a); !slices.Equal(got, tt.want) {
			t.Errorf("Need(%v) = %v, want %v", tt.a, got, tt.want)
		}
	}
}

func TestNeedSharedSliceIsClipped(t *testing.T) {
	n := Need(BindQueue)
	_ = append(n, Check{Configure, OnQueue})
	if got := Need(BindQueue); len(got) != 2 {
		t.Fatalf("append changed the table: %v", got)
	}
}

func TestNeedUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Need(unknown) did not panic")
		}
	}()
	Need(numActions)
}

func TestOperandType(t *testing.T) {
	for o, want := range map[Operand]ResourceType{
		OnQueue: Queue, OnExchange: Exchange, OnDestination: Exchange,
		OnDeadLetterExchange: Exchange, OnAlternateExchange: Exchange,
	} {
		if got := o.Type(); got != want {
			t.Errorf("%v.Type() = %v, want %v", o, got, want)
		}
	}
}

func TestTopicCheck(t *testing.T) {
	want := map[Action]Kind{Publish: Write, BindQueue: Read, UnbindQueue: Read, BindExchange: Read, UnbindExchange: Read}
	for a := range numActions {
		k, ok := a.TopicCheck()
		wk, wok := want[a]
		if ok != wok || k != wk {
			t.Errorf("%v.TopicCheck() = %v, %v; want %v, %v", a, k, ok, wk, wok)
		}
	}
}

func TestActionString(t *testing.T) {
	for a := range numActions {
		if s := a.String(); s == "" || strings.HasPrefix(s, "Action(") {
			t.Errorf("Action %d has no name", a)
		}
	}
	if s := numActions.String(); s != "Action(16)" {
		t.Errorf("unknown action = %q", s)
	}
}
