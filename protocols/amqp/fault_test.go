package amqp

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/mqgate/mqgate/core/store"
)

// failingStore is a durable-looking store whose commits fail on demand.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) Commit(b *store.Batch, done func(error)) {
	if f.fail.Load() {
		if done != nil {
			go done(errors.New("injected disk failure"))
		}
		return
	}
	f.Store.Commit(b, done)
}

func (f *failingStore) Durable() bool { return true }

// TestAMQPStoreFailure: when the store fails, a persistent publish is
// nacked and a durable declare is a 541 INTERNAL_ERROR, through the real
// client; the failure cannot be forced through the gateway, hence here.
func TestAMQPStoreFailure(t *testing.T) {
	st := &failingStore{Store: store.NewMemory()}
	ts := startTestServer(t, Config{}, st)
	conn, err := amqp091.Dial(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("d", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true)
	dc, err := ch.PublishWithDeferredConfirm("", "d", false, false, amqp091.Publishing{DeliveryMode: amqp091.Persistent})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-dc.Done():
		if dc.Acked() {
			t.Fatal("a publish the store failed was acked")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no confirm")
	}
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	_, err = ch.QueueDeclare("d2", true, false, false, false, nil)
	var e *amqp091.Error
	if !errors.As(err, &e) || e.Code != 541 || e.Reason != "INTERNAL_ERROR - store: injected disk failure" {
		t.Fatalf("durable declare on a failing store: %v", err)
	}
	if e := <-closed; e == nil || e.Code != 541 {
		t.Fatalf("connection closed with %v", e)
	}
}
