package core

import (
	"github.com/mqgate/mqgate/core/store"
)

// Front-end records: the state a front-end keeps beside the engine's own
// (persistent sessions, retained messages), stored through the broker's store
// so that it survives restarts with the queues it refers to. Only the kinds
// reserved for front-ends may be written; the engine's own kinds are not
// reachable through these calls.

func recordKind(k store.Kind) error {
	switch k {
	case store.KindSession, store.KindRetained:
		return nil
	}
	return errorf(InvalidArgument, "record kind %d is not a front-end record kind", k)
}

// PutRecord stores value under key in kind (store.KindSession or
// store.KindRetained) and returns once it is durable.
func (b *Broker) PutRecord(kind store.Kind, key string, value []byte) error {
	if err := recordKind(kind); err != nil {
		return err
	}
	var batch store.Batch
	batch.PutMeta(kind, key, value)
	return b.commitWait(&batch)
}

// DeleteRecord removes key from kind and returns once that is durable.
// Removing a record that does not exist succeeds.
func (b *Broker) DeleteRecord(kind store.Kind, key string) error {
	if err := recordKind(kind); err != nil {
		return err
	}
	var batch store.Batch
	batch.DeleteMeta(kind, key)
	return b.commitWait(&batch)
}

// WriteRecord queues a write of key in kind (a delete when value is nil)
// without waiting, and calls done, if not nil, once it is durable or failed.
// Writes are applied in the order WriteRecord is called, so the last write of
// a key wins. done runs on the store's goroutine and must not block.
func (b *Broker) WriteRecord(kind store.Kind, key string, value []byte, done func(error)) error {
	if err := recordKind(kind); err != nil {
		return err
	}
	var batch store.Batch
	if value == nil {
		batch.DeleteMeta(kind, key)
	} else {
		batch.PutMeta(kind, key, value)
	}
	if done == nil {
		b.store.Commit(&batch, nil)
		return nil
	}
	b.store.Commit(&batch, func(err error) {
		if err != nil {
			done(&Error{Code: Internal, Msg: "store: " + err.Error()})
			return
		}
		done(nil)
	})
	return nil
}

// Records calls fn for every record of kind, ascending by key. An error from
// fn stops the walk and is returned.
func (b *Broker) Records(kind store.Kind, fn func(key string, value []byte) error) error {
	if err := recordKind(kind); err != nil {
		return err
	}
	return b.store.ForEachMeta(kind, fn)
}
