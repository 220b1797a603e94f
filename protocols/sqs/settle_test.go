package sqs

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// heldStore is a memory store whose Flush, once held is set, waits until
// release is closed: a disk whose fsync has not finished.
type heldStore struct {
	store.Store
	held     atomic.Bool
	flushing chan struct{} // one value per held Flush that has begun
	release  chan struct{}
}

// Durable says the store is a disk, as it stands for one: core waits for a
// durable store's Flush only.
func (h *heldStore) Durable() bool { return true }

func (h *heldStore) Flush() error {
	if h.held.Load() {
		h.flushing <- struct{}{}
		<-h.release
	}
	return h.Store.Flush()
}

// TestDeleteRepliesOnceDurable: DeleteMessage and DeleteMessageBatch answer
// only after the deletion is on disk, so a message whose deletion the client
// saw succeed cannot come back after a crash.
func TestDeleteRepliesOnceDurable(t *testing.T) {
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "DeleteMessage", true: "DeleteMessageBatch"}[batch]
		t.Run(name, func(t *testing.T) {
			st := &heldStore{Store: store.NewMemory(), flushing: make(chan struct{}, 1), release: make(chan struct{})}
			hs := rawServerWith(t, true, nil, st)
			t.Cleanup(func() { // registered after the server's: runs first
				st.held.Store(false)
				select {
				case <-st.release:
				default:
					close(st.release)
				}
			})
			postJSON(t, hs, "CreateQueue", `{"QueueName":"q"}`)
			postJSON(t, hs, "SendMessage", `{"QueueUrl":"/000000000000/q","MessageBody":"m"}`)
			r := postJSON(t, hs, "ReceiveMessage", `{"QueueUrl":"/000000000000/q"}`)
			var out struct {
				Messages []struct{ ReceiptHandle string }
			}
			if err := json.Unmarshal([]byte(r.body), &out); err != nil || len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage: %d %s", r.status, r.body)
			}
			handle, _ := json.Marshal(out.Messages[0].ReceiptHandle)
			body := `{"QueueUrl":"/000000000000/q","ReceiptHandle":` + string(handle) + `}`
			if batch {
				body = `{"QueueUrl":"/000000000000/q","Entries":[{"Id":"a","ReceiptHandle":` + string(handle) + `}]}`
			}

			st.held.Store(true)
			replied := make(chan rawResponse, 1)
			go func() { replied <- send(jsonRequest(hs, name, body)) }()
			select {
			case <-st.flushing:
			case r := <-replied:
				t.Fatalf("%s replied without waiting for the store: %d %s", name, r.status, r.body)
			case <-time.After(10 * time.Second):
				t.Fatalf("%s neither replied nor flushed the store", name)
			}
			select {
			case r := <-replied:
				t.Fatalf("%s replied before its deletion was durable: %d %s", name, r.status, r.body)
			case <-time.After(50 * time.Millisecond):
			}
			st.held.Store(false)
			close(st.release)
			if r := <-replied; r.status != 200 {
				t.Fatalf("%s: %d %s", name, r.status, r.body)
			}
		})
	}
}
