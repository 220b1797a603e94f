package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/mqgate/mqgate/core"
)

func newTestReader(wire string, frameMax uint32) *FrameReader {
	return NewFrameReader(bufio.NewReader(strings.NewReader(wire)), frameMax)
}

func TestAMQPWireFrameGolden(t *testing.T) {
	var all string
	for _, g := range goldenFrames {
		if got := AppendFrame(nil, g.frame); string(got) != g.wire {
			t.Errorf("%s: encoded %q, want %q", g.name, got, g.wire)
		}
		all += g.wire
	}
	fr := newTestReader(all, FrameMinSize)
	for _, g := range goldenFrames {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if f.Type != g.frame.Type || f.Channel != g.frame.Channel || !bytes.Equal(f.Payload, g.frame.Payload) {
			t.Fatalf("%s: read %+v, want %+v", g.name, f, g.frame)
		}
	}
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if got := AppendHeartbeatFrame([]byte("x")); string(got) != "x"+goldenFrames[0].wire {
		t.Errorf("heartbeat %q", got)
	}
}

func TestAMQPWireFrameReaderErrors(t *testing.T) {
	cases := []struct {
		name     string
		wire     string
		frameMax uint32
		code     uint16 // 0: want ioErr
		ioErr    error
	}{
		{"empty stream", "", 0, 0, io.EOF},
		{"partial header", "\x01\x00", 0, 0, io.ErrUnexpectedEOF},
		{"partial payload", "\x03\x00\x01\x00\x00\x00\x05hi", 0, 0, io.ErrUnexpectedEOF},
		{"no frame-end", "\x03\x00\x01\x00\x00\x00\x02hi", 0, 0, io.ErrUnexpectedEOF},
		{"bad frame-end", "\x03\x00\x01\x00\x00\x00\x02hi\x00", 0, ReplyFrameError, nil},
		{"unknown type", "\x04\x00\x00\x00\x00\x00\x00\xce", 0, ReplyFrameError, nil},
		{"type zero", "\x00\x00\x00\x00\x00\x00\x00\xce", 0, ReplyFrameError, nil},
		{"heartbeat on channel 1", "\x08\x00\x01\x00\x00\x00\x00\xce", 0, ReplyFrameError, nil},
		{"heartbeat with payload", "\x08\x00\x00\x00\x00\x00\x01x\xce", 0, ReplyFrameError, nil},
		{"over frame-min-size", "\x03\x00\x01\x00\x00\x0f\xf9", 0, ReplyFrameError, nil},
		{"over frame-max", "\x03\x00\x01\x00\x00\x1f\xf9", 8192, ReplyFrameError, nil},
		{"4 GiB announced", "\x03\x00\x01\xff\xff\xff\xff", 1 << 20, ReplyFrameError, nil},
	}
	for _, c := range cases {
		fr := newTestReader(c.wire, c.frameMax)
		_, err := fr.ReadFrame()
		if c.code == 0 {
			if !errors.Is(err, c.ioErr) {
				t.Errorf("%s: %v, want %v", c.name, err, c.ioErr)
			}
			continue
		}
		checkCode(t, c.name, err, c.code)
		if c.name != "bad frame-end" && fr.maxAlloc != 0 {
			t.Errorf("%s: allocated %d octets before rejecting the frame", c.name, fr.maxAlloc)
		}
	}
}

func TestAMQPWireFrameReaderSizes(t *testing.T) {
	const frameMax = 131072
	sizes := []int{0, 1, FrameMinSize - 1, FrameMinSize, 5000, 100000, frameMax - frameOverhead, 10, 70000}
	var wire []byte
	for i, n := range sizes {
		wire = AppendFrame(wire, Frame{Type: FrameBody, Channel: uint16(i), Payload: bytes.Repeat([]byte{byte(i + 1)}, n)})
	}
	fr := NewFrameReader(bufio.NewReader(bytes.NewReader(wire)), frameMax)
	for i, n := range sizes {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d of %d octets: %v", i, n, err)
		}
		if len(f.Payload) != n || f.Channel != uint16(i) || n > 0 && (f.Payload[0] != byte(i+1) || f.Payload[n-1] != byte(i+1)) {
			t.Fatalf("frame %d: %d octets on channel %d", i, len(f.Payload), f.Channel)
		}
	}
	if fr.maxAlloc > frameMax {
		t.Fatalf("allocated %d octets, frame-max is %d", fr.maxAlloc, frameMax)
	}
	// One octet over.
	over := AppendFrame(nil, Frame{Type: FrameBody, Payload: make([]byte, frameMax-frameOverhead+1)})
	_, err := NewFrameReader(bufio.NewReader(bytes.NewReader(over)), frameMax).ReadFrame()
	checkCode(t, "one octet over frame-max", err, ReplyFrameError)
}

func TestAMQPWireFrameReaderSetMax(t *testing.T) {
	fr := newTestReader("", 0)
	if fr.MaxFrameSize() != FrameMinSize {
		t.Fatalf("0 reads as %d", fr.MaxFrameSize())
	}
	fr.SetMaxFrameSize(100)
	if fr.MaxFrameSize() != FrameMinSize {
		t.Fatalf("100 reads as %d", fr.MaxFrameSize())
	}
	fr.SetMaxFrameSize(131072)
	if fr.MaxFrameSize() != 131072 {
		t.Fatalf("131072 reads as %d", fr.MaxFrameSize())
	}
}

func TestAMQPWireProtocolHeader(t *testing.T) {
	if ProtocolHeader != "AMQP"+string([]byte{0, ProtocolMajor, ProtocolMinor, ProtocolRevision}) {
		t.Fatal("ProtocolHeader disagrees with the spec version")
	}
	cases := []struct {
		in   string
		want error
	}{
		{ProtocolHeader + "more", nil},
		{"AMQP\x01\x01\x00\x09", ErrProtocolHeader}, // AMQP 0-9
		{"AMQP\x00\x01\x00\x00", ErrProtocolHeader}, // AMQP 1.0
		{"GET / HTTP/1.1\r\n", ErrProtocolHeader},
		{"AMQ", io.ErrUnexpectedEOF},
		{"", io.EOF},
	}
	for _, c := range cases {
		got, err := ReadProtocolHeader(strings.NewReader(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("%q: %v, want %v", c.in, err, c.want)
		}
		if len(c.in) >= 8 && string(got[:]) != c.in[:8] {
			t.Errorf("%q: returned %q", c.in, got)
		}
	}
}

func TestAMQPWireHeaderGolden(t *testing.T) {
	for _, g := range goldenHeaders {
		t.Run(g.name, func(t *testing.T) {
			p := g.header.Properties
			got, err := AppendHeaderFrame([]byte("x"), 5, g.header.ClassID, g.header.BodySize, &p)
			if err != nil {
				t.Fatal(err)
			}
			want := "x" + string(AppendFrame(nil, Frame{Type: FrameHeader, Channel: 5, Payload: []byte(g.payload)}))
			if string(got) != want {
				t.Fatalf("encoded\n got %q\nwant %q", got, want)
			}
			var h ContentHeader
			if err := h.Decode([]byte(g.payload)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, g.header) {
				t.Fatalf("decoded\n got %#v\nwant %#v", h, g.header)
			}
			for n := range len(g.payload) {
				if err := h.Decode([]byte(g.payload[:n])); err == nil {
					t.Fatalf("prefix of %d octets decoded", n)
				}
			}
		})
	}
	if got, _ := AppendHeaderFrame(nil, 1, ClassBasic, 0, nil); string(got[7:len(got)-1]) != goldenHeaders[0].payload {
		t.Errorf("nil properties: %q", got)
	}
}

func TestAMQPWireHeaderErrors(t *testing.T) {
	fixed := "\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	cases := []struct {
		name    string
		payload string
		code    uint16
	}{
		{"short", "\x00\x3c\x00\x00", ReplyFrameError},
		{"no flags", fixed, ReplyFrameError},
		{"class without content", "\x00\x32" + fixed[2:] + "\x00\x00", ReplyUnexpectedFrame},
		{"continuation flag", fixed + "\x00\x01", ReplySyntaxError},
		{"unknown property", fixed + "\x00\x02", ReplySyntaxError},
		{"property past end", fixed + "\x80\x00\x05ab", ReplySyntaxError},
		{"trailing octets", fixed + "\x00\x00\x00", ReplySyntaxError},
		{"bad headers table", fixed + "\x20\x00" + tbl(ss("k")+"?"), ReplySyntaxError},
	}
	for _, c := range cases {
		var h ContentHeader
		checkCode(t, c.name, h.Decode([]byte(c.payload)), c.code)
	}
	if _, err := AppendHeaderFrame(nil, 1, ClassQueue, 0, nil); err == nil {
		t.Error("header for class queue encoded")
	}
}

func readAll(t *testing.T, b []byte) []Frame {
	t.Helper()
	fr := NewFrameReader(bufio.NewReader(bytes.NewReader(b)), 1<<20)
	var out []Frame
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
}

func TestAMQPWireAppendContent(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000) // 10000 octets
	m := &BasicDeliver{ConsumerTag: "c", DeliveryTag: 1, RoutingKey: "rk"}
	p := &Properties{ContentType: "text/plain", Headers: core.Table{"k": "v"}}
	cases := []struct {
		name     string
		body     []byte
		frameMax uint32
		bodies   []int
	}{
		{"split at frame-max", body, 4096, []int{4088, 4088, 1824}},
		{"below frame-min-size counts as it", body, 512, []int{4088, 4088, 1824}},
		{"exact multiple", body[:8176], 4096, []int{4088, 4088}},
		{"no limit", body, 0, []int{10000}},
		{"one frame", body, 131072, []int{10000}},
		{"empty body", nil, 4096, nil},
	}
	for _, c := range cases {
		out, err := AppendContent([]byte("prefix"), 9, m, p, c.body, c.frameMax)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("%s: prefix lost", c.name)
		}
		frames := readAll(t, out[len("prefix"):])
		if len(frames) != 2+len(c.bodies) {
			t.Fatalf("%s: %d frames", c.name, len(frames))
		}
		dm, err := DecodeMethod(frames[0].Payload)
		if err != nil || !reflect.DeepEqual(dm, Method(m)) {
			t.Fatalf("%s: method %#v, %v", c.name, dm, err)
		}
		var h ContentHeader
		if err := h.Decode(frames[1].Payload); err != nil || h.BodySize != uint64(len(c.body)) || !reflect.DeepEqual(h.Properties, *p) {
			t.Fatalf("%s: header %#v, %v", c.name, h, err)
		}
		var got []byte
		for i, n := range c.bodies {
			f := frames[2+i]
			if f.Type != FrameBody || f.Channel != 9 || len(f.Payload) != n {
				t.Fatalf("%s: body frame %d: type %d channel %d, %d octets, want %d", c.name, i, f.Type, f.Channel, len(f.Payload), n)
			}
			got = append(got, f.Payload...)
		}
		if !bytes.Equal(got, c.body) {
			t.Fatalf("%s: body differs", c.name)
		}
	}
}

func TestAMQPWireAppendContentErrors(t *testing.T) {
	big := core.Table{"big": strings.Repeat("x", 5000)}
	cases := []struct {
		name     string
		m        Method
		p        *Properties
		frameMax uint32
	}{
		{"method without content", &BasicAck{}, nil, 0},
		{"nil method", nil, nil, 0},
		{"header over frame-max", &BasicPublish{}, &Properties{Headers: big}, 4096},
		{"bad property", &BasicPublish{}, &Properties{Headers: core.Table{"k": make(chan int)}}, 0},
		{"bad argument", &BasicPublish{Exchange: strings.Repeat("x", 300)}, nil, 0},
	}
	for _, c := range cases {
		out, err := AppendContent([]byte("keep"), 1, c.m, c.p, []byte("body"), c.frameMax)
		if err == nil || string(out) != "keep" {
			t.Errorf("%s: %q, %v", c.name, out, err)
		}
	}
	// A header that fits only without the frame-max check.
	if _, err := AppendContent(nil, 1, &BasicPublish{}, &Properties{Headers: big}, nil, 0); err != nil {
		t.Errorf("no frame-max: %v", err)
	}
}
