package amqp

import (
	"slices"

	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// Publisher confirms (RabbitMQ's extension). Each publish on a channel in
// confirm mode gets the next sequence number; core reports once that the
// message is safe (or refused) from whichever goroutine completes it, and
// the writer turns the outcomes gathered since its last write into as few
// basic.ack / basic.nack frames as possible: a run of consecutive outcomes
// of one kind becomes one frame with multiple set. An outcome that arrives
// ahead of an earlier unconfirmed one goes out alone, and a multiple never
// spans a number already sent, so a client never hears of one publish twice
// or with the wrong outcome.

// Outcome states of a sequence number.
const (
	seqPending uint8 = iota
	seqAck
	seqNack
	seqSent
)

// confirms is a channel's confirm state, guarded by conn.mu.
type confirms struct {
	low    uint64  // the sequence number of states[0]
	states []uint8 // outcome of low, low+1, …; the sent prefix is dropped
	fresh  []uint64
	dirty  bool // queued in conn.out.dirty
}

func (f *confirms) init() { f.low = 1 }

// addLocked registers the next sequence number, which the caller assigned
// (seq == low+len(states)).
func (f *confirms) addLocked() {
	f.states = append(f.states, seqPending)
}

// resolve records the outcome of seq and queues the channel for the writer.
// Core calls it from any goroutine, exactly once per publish.
func (ch *channel) resolve(seq uint64, ok bool) {
	c := ch.c
	c.mu.Lock()
	defer c.mu.Unlock()
	f := &ch.conf
	if ch.closed || seq < f.low || seq-f.low >= uint64(len(f.states)) {
		return
	}
	f.states[seq-f.low] = seqNack
	if ok {
		f.states[seq-f.low] = seqAck
	}
	f.fresh = append(f.fresh, seq)
	if !f.dirty {
		f.dirty = true
		c.out.dirty = append(c.out.dirty, ch)
		c.wakeWriter()
	}
}

// appendConfirmsLocked appends the frames for the outcomes gathered since
// the last call. The writer calls it with c.mu held, just before it writes,
// so a basic.return queued before a confirm is written before it.
func (ch *channel) appendConfirmsLocked(dst []byte) []byte {
	f := &ch.conf
	f.dirty = false
	if ch.closed {
		f.fresh = f.fresh[:0]
		return dst
	}
	// The in-order prefix, in runs.
	var runKind uint8
	var runEnd uint64
	runLen := 0
	flush := func() {
		if runLen > 0 {
			dst = appendConfirm(dst, ch.id, runKind, runEnd, runLen > 1)
		}
		runLen = 0
	}
	i := 0
	for ; i < len(f.states); i++ {
		st := f.states[i]
		if st == seqPending {
			break
		}
		if st == seqSent {
			flush()
			continue
		}
		if st != runKind || runLen == 0 {
			flush()
			runKind = st
		}
		runEnd = f.low + uint64(i)
		runLen++
		f.states[i] = seqSent
	}
	flush()
	f.low += uint64(i)
	f.states = f.states[i:]
	if cap(f.states) > 1024 && len(f.states) < cap(f.states)/4 {
		f.states = slices.Clone(f.states)
	}
	// Outcomes behind a pending one go out alone.
	slices.Sort(f.fresh)
	for _, seq := range f.fresh {
		if seq < f.low {
			continue
		}
		j := seq - f.low
		if st := f.states[j]; st == seqAck || st == seqNack {
			dst = appendConfirm(dst, ch.id, st, seq, false)
			f.states[j] = seqSent
		}
	}
	f.fresh = f.fresh[:0]
	return dst
}

func appendConfirm(dst []byte, chID uint16, kind uint8, tag uint64, multiple bool) []byte {
	var m wire.Method = &wire.BasicAck{DeliveryTag: tag, Multiple: multiple}
	if kind == seqNack {
		m = &wire.BasicNack{DeliveryTag: tag, Multiple: multiple}
	}
	out, err := wire.AppendMethodFrame(dst, chID, m)
	if err != nil {
		return dst
	}
	return out
}

// handleConfirmSelect puts the channel in confirm mode.
func (ch *channel) handleConfirmSelect(m wire.Method) error {
	if ch.tx != nil {
		return errorf(wire.ReplyPreconditionFailed, "cannot switch from tx to confirm mode")
	}
	if !ch.confirming {
		ch.confirming = true
		ch.nextSeq = 1
	}
	if !m.(*wire.ConfirmSelect).NoWait {
		ch.c.send(ch.id, &wire.ConfirmSelectOk{})
	}
	return nil
}
