package core

import "testing"

// Accepted runs once per accepted publish, before any consumer has the
// message, and never for a refused one.
func TestPublishAcceptedBeforeDelivery(t *testing.T) {
	h := newHarness(t)
	s := h.session("guest")
	if _, err := s.DeclareQueue("q", QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	_, k := rbConsume(t, s, "q", ConsumeOptions{NoAck: true})
	calls, seen := 0, -1
	accepted := func() {
		calls++
		k.mu.Lock()
		seen = len(k.ds)
		k.mu.Unlock()
	}
	if _, err := s.Publish(&Message{RoutingKey: "q", Body: []byte("m")}, PublishOptions{Accepted: accepted}); err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	delivered := len(k.ds)
	k.mu.Unlock()
	if calls != 1 || seen != 0 || delivered != 1 {
		t.Fatalf("Accepted called %d times, with %d deliveries made; %d after Publish", calls, seen, delivered)
	}
	_, err := s.Publish(&Message{Exchange: "missing", RoutingKey: "q", Body: []byte("m")}, PublishOptions{Accepted: accepted})
	wantCode(t, err, NotFound)
	if calls != 1 {
		t.Fatal("Accepted called for a refused publish")
	}
}
