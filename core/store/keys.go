package store

import "encoding/binary"

// Key layout of the durable store. The first byte names a namespace, so each
// namespace is one contiguous key range and every read is a bounded range
// scan. Integers are big-endian so that byte order is numeric order: message
// 2 sorts before message 1<<40, and a queue's entries sort by seq.
//
//	formatKey                          → format record (formatValue)
//	nsMeta    kind  key...             → metadata record
//	nsMessage id(8)                    → message data
//	nsEntry   queue(8) seq(8)          → queue entry
//
// The namespace bytes are persisted: never renumber.
const (
	nsFormat  byte = 0x00
	nsMeta    byte = 0x01
	nsMessage byte = 0x02
	nsEntry   byte = 0x03
)

// opNamespace is the namespace each kind of operation writes to.
var opNamespace = [...]byte{
	OpPutMeta:       nsMeta,
	OpDeleteMeta:    nsMeta,
	OpPutMessage:    nsMessage,
	OpDeleteMessage: nsMessage,
	OpPutEntry:      nsEntry,
	OpDeleteEntry:   nsEntry,
	OpDeleteQueue:   nsEntry,
}

// formatKey holds formatValue. Open refuses a directory whose record differs,
// so a future incompatible layout (or a foreign Pebble directory) is detected
// instead of misread.
var (
	formatKey   = []byte{nsFormat, 'f', 'o', 'r', 'm', 'a', 't'}
	formatValue = []byte("mqgate-store-v1")
)

const (
	messageKeyLen = 1 + 8
	entryKeyLen   = 1 + 8 + 8
)

func appendMetaKey(dst []byte, k Kind, key string) []byte {
	dst = append(dst, nsMeta, byte(k))
	return append(dst, key...)
}

func appendMessageKey(dst []byte, id uint64) []byte {
	dst = append(dst, nsMessage)
	return binary.BigEndian.AppendUint64(dst, id)
}

func appendQueueKey(dst []byte, q uint64) []byte {
	dst = append(dst, nsEntry)
	return binary.BigEndian.AppendUint64(dst, q)
}

func appendEntryKey(dst []byte, q, seq uint64) []byte {
	dst = appendQueueKey(dst, q)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix: the exclusive upper bound of a prefix scan or a DeleteRange. It
// always exists here because every prefix starts with a namespace byte below
// 0xff.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	panic("store: prefixEnd of an all-0xff prefix")
}

// messageID decodes a key made by appendMessageKey.
func messageID(key []byte) (uint64, bool) {
	if len(key) != messageKeyLen || key[0] != nsMessage {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[1:]), true
}

// entrySeq decodes the seq of a key made by appendEntryKey.
func entrySeq(key []byte) (uint64, bool) {
	if len(key) != entryKeyLen || key[0] != nsEntry {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[9:]), true
}
