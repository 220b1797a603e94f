package amqp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/protocols/amqp/wire"
)

// confirmFrames decodes the basic.ack/basic.nack frames in b as
// "ack 3", "ack* 5" (multiple), "nack 4".
func confirmFrames(t *testing.T, b []byte) []string {
	t.Helper()
	fr := wire.NewFrameReader(bufio.NewReader(bytes.NewReader(b)), wire.FrameMinSize)
	var out []string
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.DecodeMethod(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *wire.BasicAck:
			out = append(out, fmt.Sprintf("ack%s %d", star(m.Multiple), m.DeliveryTag))
		case *wire.BasicNack:
			out = append(out, fmt.Sprintf("nack%s %d", star(m.Multiple), m.DeliveryTag))
		default:
			t.Fatalf("unexpected %s", m.Name())
		}
	}
}

func star(b bool) string {
	if b {
		return "*"
	}
	return ""
}

func newConfirmChannel(n int) *channel {
	c := &conn{wake: make(chan struct{}, 1)}
	ch := &channel{id: 1, c: c}
	ch.conf.init()
	for range n {
		ch.conf.addLocked()
	}
	return ch
}

// TestAMQPConfirmCoalescing is the table of outcomes and the frames they
// become: runs of one kind coalesce with multiple; an outcome behind a
// pending one goes alone; a multiple never covers a number sent before.
func TestAMQPConfirmCoalescing(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		batches [][]int // per flush: seq (positive ack, negative nack)
		want    []string
	}{
		{"one", 1, [][]int{{1}}, []string{"ack 1"}},
		{"in order run", 5, [][]int{{1, 2, 3, 4, 5}}, []string{"ack* 5"}},
		{"out of order run", 3, [][]int{{3, 1, 2}}, []string{"ack* 3"}},
		{"gap", 4, [][]int{{1, 2, 4}, {3}}, []string{"ack* 2", "ack 4", "ack 3"}},
		{"nack splits runs", 5, [][]int{{1, 2, -3, 4, 5}}, []string{"ack* 2", "nack 3", "ack* 5"}},
		{"nack run", 3, [][]int{{-1, -2, -3}}, []string{"nack* 3"}},
		{"sent alone breaks later runs", 5, [][]int{{3}, {1, 2, 4, 5}}, []string{"ack 3", "ack* 2", "ack* 5"}},
		{"nack sent alone is not covered", 4, [][]int{{-2}, {1, 3, 4}}, []string{"nack 2", "ack 1", "ack* 4"}},
		{"across flushes", 6, [][]int{{1, 2}, {3}, {4, 5, 6}}, []string{"ack* 2", "ack 3", "ack* 6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := newConfirmChannel(tc.n)
			var buf []byte
			for _, batch := range tc.batches {
				for _, s := range batch {
					if s > 0 {
						ch.resolve(uint64(s), true)
					} else {
						ch.resolve(uint64(-s), false)
					}
				}
				buf = ch.appendConfirmsLocked(buf)
			}
			if got := confirmFrames(t, buf); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAMQPConfirmExactlyOnce resolves many publishes in random order and
// random flushes, and replays the frames as amqp091-go's confirms do: every
// publish is confirmed once, with its own outcome.
func TestAMQPConfirmExactlyOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	ch := newConfirmChannel(n)
	outcome := make([]bool, n+1)
	order := r.Perm(n)
	var buf []byte
	for i, p := range order {
		seq := uint64(p + 1)
		outcome[seq] = r.IntN(10) != 0
		ch.resolve(seq, outcome[seq])
		if i%(r.IntN(50)+1) == 0 || i == n-1 {
			buf = ch.appendConfirmsLocked(buf)
		}
	}
	buf = ch.appendConfirmsLocked(buf)
	seen := make([]int, n+1)
	var last uint64 // highest tag confirmed by a multiple, as the client's "expecting"
	for _, f := range confirmFrames(t, buf) {
		var kind string
		var tag uint64
		fmt.Sscanf(f, "%s %d", &kind, &tag)
		ack := strings.HasPrefix(kind, "ack")
		if strings.HasSuffix(kind, "*") {
			for s := last + 1; s <= tag; s++ {
				if seen[s] == 0 {
					if outcome[s] != ack {
						t.Fatalf("multiple %s covers %d whose outcome is %v", f, s, outcome[s])
					}
					seen[s]++
				}
			}
		} else {
			if outcome[tag] != ack {
				t.Fatalf("%s: outcome of %d is %v", f, tag, outcome[tag])
			}
			seen[tag]++
		}
		for last < n && seen[last+1] > 0 {
			last++
		}
	}
	for s := 1; s <= n; s++ {
		if seen[s] != 1 {
			t.Fatalf("publish %d confirmed %d times", s, seen[s])
		}
	}
}
