package core

import (
	"errors"
	"testing"

	"github.com/mqgate/mqgate/core/store"
)

func TestRecordsRoundTripAndSurviveRecovery(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenDurable(dir, store.DurableOptions{})
	must(t, err)
	b, err := New(Config{Store: st})
	must(t, err)
	must(t, b.PutRecord(store.KindSession, "/\x00c1", []byte("one")))
	must(t, b.PutRecord(store.KindRetained, "/\x00a/b", []byte("retained")))
	done := make(chan error, 1)
	must(t, b.WriteRecord(store.KindSession, "/\x00c2", []byte("two"), func(err error) { done <- err }))
	must(t, <-done)
	must(t, b.WriteRecord(store.KindSession, "/\x00c2", nil, nil)) // applied after the put: deletes it
	must(t, b.DeleteRecord(store.KindSession, "/\x00absent"))
	must(t, b.Close())
	must(t, st.Close())

	st, err = store.OpenDurable(dir, store.DurableOptions{})
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	b, err = New(Config{Store: st})
	must(t, err)
	t.Cleanup(func() { _ = b.Close() })
	got := map[string]string{}
	for _, k := range []store.Kind{store.KindSession, store.KindRetained} {
		must(t, b.Records(k, func(key string, v []byte) error {
			got[key] = string(v)
			return nil
		}))
	}
	want := map[string]string{"/\x00c1": "one", "/\x00a/b": "retained"}
	if len(got) != len(want) {
		t.Fatalf("records after recovery = %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("records after recovery = %q, want %q", got, want)
		}
	}
}

func TestRecordsRefuseEngineKinds(t *testing.T) {
	h := newHarness(t)
	for _, k := range []store.Kind{store.KindVHost, store.KindUser, store.KindQueue, store.KindBinding, store.KindDedup} {
		if err := h.b.PutRecord(k, "x", []byte("y")); !errors.Is(err, &Error{Code: InvalidArgument}) {
			t.Errorf("PutRecord(kind %d) = %v, want InvalidArgument", k, err)
		}
		if err := h.b.DeleteRecord(k, "x"); !errors.Is(err, &Error{Code: InvalidArgument}) {
			t.Errorf("DeleteRecord(kind %d) = %v, want InvalidArgument", k, err)
		}
		if err := h.b.Records(k, func(string, []byte) error { return nil }); !errors.Is(err, &Error{Code: InvalidArgument}) {
			t.Errorf("Records(kind %d) = %v, want InvalidArgument", k, err)
		}
	}
}
