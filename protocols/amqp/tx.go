package amqp

import (
	"sync"
	"sync/atomic"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// Transactions (the tx class). A transactional channel keeps its publishes
// and settlements until tx.commit, which applies them in order and answers
// commit-ok once every published message is safe, as RabbitMQ does; with
// tx.rollback they are dropped. Settlement tags are checked at commit. What
// a transaction holds is bounded (Config.MaxTxBytes): past the bound a
// publish is a 506 RESOURCE_ERROR, where RabbitMQ would hold it all in
// memory.

type txState struct {
	publishes []txPublish
	settles   []txSettle
	bytes     uint64 // of the publishes' bodies
}

type txPublish struct {
	msg       *core.Message
	mandatory bool
}

// txSettle is a basic.ack (ack set), nack or reject.
type txSettle struct {
	tag      uint64
	multiple bool
	requeue  bool
	ack      bool
}

func (ch *channel) handleTxSelect(wire.Method) error {
	if ch.confirming {
		return errorf(wire.ReplyPreconditionFailed, "cannot switch from confirm to tx mode")
	}
	if ch.tx == nil {
		ch.tx = &txState{}
	}
	ch.c.send(ch.id, &wire.TxSelectOk{})
	return nil
}

func (ch *channel) handleTxCommit(wire.Method) error {
	tx := ch.tx
	if tx == nil {
		return errorf(wire.ReplyPreconditionFailed, "channel is not transactional")
	}
	ch.tx = &txState{}
	var wg sync.WaitGroup
	var refused atomic.Bool
	for _, p := range tx.publishes {
		wg.Add(1)
		err := ch.route(p.msg, p.mandatory, func(err error) {
			if err != nil {
				refused.Store(true)
			}
			wg.Done()
		})
		if err != nil {
			wg.Done()
			wg.Wait()
			return err
		}
	}
	for _, s := range tx.settles {
		var err error
		if s.ack {
			err = ch.sess.Ack(s.tag, s.multiple)
		} else {
			err = ch.sess.Nack(s.tag, core.NackOptions{Multiple: s.multiple, Requeue: s.requeue})
		}
		if err != nil {
			wg.Wait()
			return err
		}
	}
	// Commit-ok only once every message is in its queues and, if
	// persistent in a durable queue, on disk.
	wg.Wait()
	if refused.Load() {
		return errorf(wire.ReplyPreconditionFailed, "partial tx completion")
	}
	ch.c.send(ch.id, &wire.TxCommitOk{})
	return nil
}

func (ch *channel) handleTxRollback(wire.Method) error {
	if ch.tx == nil {
		return errorf(wire.ReplyPreconditionFailed, "channel is not transactional")
	}
	ch.tx = &txState{}
	ch.c.send(ch.id, &wire.TxRollbackOk{})
	return nil
}
