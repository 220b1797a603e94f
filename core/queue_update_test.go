package core

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestSetQueueArguments(t *testing.T) {
	h := newHarness(t)
	s := h.session("")
	_, err := s.DeclareQueue("q", QueueOptions{Durable: true, Args: Table{ArgDLX: "", ArgDLRK: "dlq", "x-front-setting": "a"}})
	must(t, err)
	_, err = s.DeclareQueue("dlq", QueueOptions{Durable: true})
	must(t, err)

	// Changeable: delivery limit, delay, the front-end's own argument.
	info, err := s.SetQueueArguments("q", Table{ArgDLX: "", ArgDLRK: "dlq", ArgDeliveryLimit: int64(0), "x-front-setting": "b"})
	must(t, err)
	if info.Args["x-front-setting"] != "b" {
		t.Fatalf("args not replaced: %v", info.Args)
	}
	// The new delivery limit applies: one delivery, then dead-lettered.
	must(t, h.publish(s, "", "q", "m", Properties{}))
	ds, err := s.Get(context.Background(), "q", GetOptions{Lease: time.Second})
	must(t, err)
	if len(ds) != 1 {
		t.Fatalf("got %d deliveries", len(ds))
	}
	must(t, s.Nack(ds[0].Tag, NackOptions{Requeue: true}))
	if n := h.b.VHost("/").Queue("dlq").Info().Ready; n != 1 {
		t.Fatalf("dlq holds %d messages, want 1", n)
	}

	// Fixed: the dead-letter routing key and the type.
	if _, err := s.SetQueueArguments("q", Table{ArgDLX: "", ArgDLRK: "other"}); CodeOf(err) != PreconditionFailed {
		t.Fatalf("changing x-dead-letter-routing-key: %v", err)
	}
	if _, err := s.SetQueueArguments("q", Table{ArgDLX: "", ArgDLRK: "dlq", ArgQueueType: TypeFIFO}); CodeOf(err) != PreconditionFailed {
		t.Fatalf("changing x-queue-type: %v", err)
	}
	if _, err := s.SetQueueArguments("none", Table{}); CodeOf(err) != NotFound {
		t.Fatalf("missing queue: %v", err)
	}
	if _, err := s.SetQueueArguments("q", Table{ArgDLX: "", ArgDLRK: "dlq", ArgMessageTTL: "x"}); CodeOf(err) != PreconditionFailed {
		t.Fatalf("invalid argument: %v", err)
	}
	if got := h.b.VHost("/").QueueNames(); !slices.Equal(got, []string{"dlq", "q"}) {
		t.Fatalf("QueueNames = %v", got)
	}
}
