package wire

import (
	"bufio"
	"testing"

	"github.com/mqgate/mqgate/core"
)

// cycleReader returns the same octets for ever.
type cycleReader struct {
	b   []byte
	off int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.off:])
	c.off = (c.off + n) % len(c.b)
	return n, nil
}

// benchPublish reads what a publisher sends (basic.publish, a content header
// and a 100-octet body) from a buffered stream, decodes it, and encodes the
// basic.deliver, header and body a consumer gets: a broker's codec work per
// message.
func benchPublish(b *testing.B, props Properties) {
	const frameMax = 131072
	body := make([]byte, 100)
	in, err := AppendContent(nil, 1, &BasicPublish{Exchange: "amq.topic", RoutingKey: "orders.eu.created"}, &props, body, frameMax)
	if err != nil {
		b.Fatal(err)
	}
	fr := NewFrameReader(bufio.NewReaderSize(&cycleReader{b: in}, 64<<10), frameMax)
	out := make([]byte, 0, 4096)
	var h ContentHeader
	deliver := &BasicDeliver{ConsumerTag: "amq.ctag-1"} // reused, as a connection's writer would
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := fr.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		m, err := DecodeMethod(f.Payload)
		if err != nil {
			b.Fatal(err)
		}
		pub := m.(*BasicPublish)
		if f, err = fr.ReadFrame(); err != nil {
			b.Fatal(err)
		}
		if err := h.Decode(f.Payload); err != nil {
			b.Fatal(err)
		}
		if f, err = fr.ReadFrame(); err != nil || uint64(len(f.Payload)) != h.BodySize {
			b.Fatal("body", err)
		}
		deliver.DeliveryTag++
		deliver.Exchange, deliver.RoutingKey = pub.Exchange, pub.RoutingKey
		if out, err = AppendContent(out[:0], 1, deliver, &h.Properties, f.Payload, frameMax); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

func BenchmarkPublishDecodeEncode(b *testing.B) {
	benchPublish(b, Properties{ContentType: "application/json", DeliveryMode: 2})
}

func BenchmarkPublishDecodeEncodeHeaders(b *testing.B) {
	benchPublish(b, Properties{ContentType: "application/json", DeliveryMode: 2, MessageID: "msg-1",
		Headers: core.Table{"x-tenant": "acme", "x-retries": int32(3), "x-trace": []byte("0af7651916cd43dd")}})
}
