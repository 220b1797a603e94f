package sqs

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
)

// A receipt handle names one delivery: the server instance that made it, the
// core session holding the lease and its delivery tag, the message's place
// in its queue, and the queue. A checksum tells a handle we issued from
// garbage (ReceiptHandleIsInvalid); the instance and tag tell a current
// handle from a stale one (a later receive, an expired visibility timeout, a
// restart), which DeleteMessage accepts without effect, as SQS does.
type receipt struct {
	instance uint64
	session  uint64
	tag      uint64
	seq      uint64
	queue    string
}

const receiptVersion = 1

// maxReceiptLen bounds a handle before it is decoded.
const maxReceiptLen = 1024

func (r receipt) encode() string {
	b := make([]byte, 0, 48+len(r.queue))
	b = append(b, receiptVersion)
	b = binary.BigEndian.AppendUint64(b, r.instance)
	b = binary.AppendUvarint(b, r.session)
	b = binary.AppendUvarint(b, r.tag)
	b = binary.AppendUvarint(b, r.seq)
	b = binary.AppendUvarint(b, uint64(len(r.queue)))
	b = append(b, r.queue...)
	b = binary.BigEndian.AppendUint64(b, receiptSum(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func receiptSum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte("mqgate sqs receipt\x00"))
	h.Write(b)
	return h.Sum64()
}

// decodeReceipt parses a handle, reporting false for anything we did not
// issue.
func decodeReceipt(s string) (receipt, bool) {
	if len(s) == 0 || len(s) > maxReceiptLen {
		return receipt{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+8+4+8 || b[0] != receiptVersion {
		return receipt{}, false
	}
	body, sum := b[:len(b)-8], binary.BigEndian.Uint64(b[len(b)-8:])
	if receiptSum(body) != sum {
		return receipt{}, false
	}
	var r receipt
	r.instance = binary.BigEndian.Uint64(body[1:9])
	p := body[9:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	var ok bool
	if r.session, ok = next(); !ok {
		return receipt{}, false
	}
	if r.tag, ok = next(); !ok {
		return receipt{}, false
	}
	if r.seq, ok = next(); !ok {
		return receipt{}, false
	}
	n, ok := next()
	if !ok || n != uint64(len(p)) {
		return receipt{}, false
	}
	r.queue = string(p)
	return r, true
}
