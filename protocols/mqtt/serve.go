package mqtt

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// A connection's life, from its first byte to its end. This is mochi's
// attachClient (server.go, v2.7.9) with this package's parts called in line
// instead of through hooks, arranged for memory: an idle MQTT client costs
// what its goroutines' stacks cost.
//
// mochi's way costs 20 KiB per idle client: its attachClient and Read wait
// for the next packet holding two 800-byte packets.Packet values and their
// call copies (4.5 KiB of frames), the handling of a packet below them grows
// the stack to 16 KiB or more, and the Go runtime only halves a stack of
// which less than a quarter is in use; mochi also starts a writer goroutine
// per client that this package never uses (deliveries and acks are written
// by conn.write).
//
// Here the connection's goroutine only parks: it reads the next fixed header
// in readLoop, whose frame is small, and hands the packet to a short-lived
// worker goroutine (workers.go) that decodes and processes it (receive.go)
// and goes on with the packets already buffered behind it (a burst) before
// it returns. Deep stacks belong to the workers, as many as there are
// bursts at once; an idle client keeps one 4 KiB stack. The hand-over costs
// a goroutine switch per burst, not per packet, as a busy publisher's
// packets arrive many per read.

// readBufferSize is the connection's read buffer (mochi's default size).
const readBufferSize = 2 << 10

// bufferedConn is a client's net.Conn as mochi sees it. Packets are read
// from br (receive.go), whose fill level tells whether a burst goes on;
// mochi writes to the connection but never reads it.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.br.Read(p) }

// ServeConn serves one client connection, arrived through the door named
// listener, until it ends.
func (s *Server) ServeConn(listener string, nc net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	bc := &bufferedConn{Conn: nc, br: bufio.NewReaderSize(nc, readBufferSize)}
	cl := s.mochi.NewClient(bc, listener, "", false)
	h := &handler{s: s, cl: cl, bc: bc, listener: listener, done: make(chan error, 1)}
	h.burstFn = h.burst
	var err error
	defer func() {
		// Packets are handled on workers (runOn recovers there); what runs
		// here must not take the process down either.
		if r := recover(); r != nil {
			err = s.panicked(nc, r)
		}
		cl.Stop(err)
		// A connection that got past CONNECT ends here, whichever way.
		if c := s.connOf(bc); c != nil {
			c.disconnected(err, c.expiresOnDisconnect())
		}
		s.forgetClient(cl)
	}()
	if err = h.run(h.handshake); err != nil {
		return
	}
	err = h.readLoop()
}

// handler runs one connection's packets off its parked goroutine.
type handler struct {
	s        *Server
	cl       *mochi.Client
	bc       *bufferedConn
	listener string
	c        *conn               // set by handshake
	fh       packets.FixedHeader // the header readLoop read, for burst
	burstFn  func() error        // h.burst, bound once
	job      func() error        // what exec runs
	done     chan error          // exec's result
}

// run runs fn on a worker and waits for it.
func (h *handler) run(fn func() error) error {
	h.job = fn
	if !h.s.workers.run(h) {
		return packets.ErrServerShuttingDown
	}
	return <-h.done
}

// runOn runs the job on the worker's goroutine. A panic there ends the
// connection, not the process.
func (h *handler) runOn(*worker) {
	defer func() {
		if r := recover(); r != nil {
			h.done <- h.s.panicked(h.bc, r)
		}
	}()
	h.done <- h.job()
}

// readLoop reads fixed headers until the connection ends; nil means the
// client disconnected normally. An idle client's goroutine waits here.
func (h *handler) readLoop() error {
	for {
		if h.cl.Closed() {
			return nil
		}
		refreshDeadline(h.cl)
		if err := h.readFixedHeader(&h.fh); err != nil {
			return h.failed(err)
		}
		if err := h.run(h.burstFn); err != nil {
			return err
		}
	}
}

// burst handles the packet whose header readLoop read, then those already
// buffered behind it.
func (h *handler) burst() error {
	var pk packets.Packet // decoded into, one packet after the other
	for {
		if err := h.receive(&pk); err != nil {
			return err
		}
		if h.cl.Closed() || h.bc.br.Buffered() == 0 {
			h.c.flushAcks()
			return nil
		}
		refreshDeadline(h.cl)
		if err := h.readFixedHeader(&h.fh); err != nil {
			return h.failed(err)
		}
	}
}

var errConnectionLost = errors.New("connection lost")

// panicked logs a panic recovered while serving nc and returns it as the
// error that ends the connection.
func (s *Server) panicked(nc net.Conn, r any) error {
	s.log.Error("mqtt: panic serving connection", "remote", nc.RemoteAddr().String(), "panic", r,
		"stack", string(debug.Stack()))
	return fmt.Errorf("panic: %v", r)
}

// handshake reads and answers the CONNECT: mochi parses and validates it,
// connect authenticates it, establish attaches it to its session, and after
// the CONNACK established starts the session's deliveries.
func (h *handler) handshake() error {
	s, cl, listener := h.s, h.cl, h.listener
	var fh packets.FixedHeader
	if err := h.readFixedHeader(&fh); err != nil {
		return fmt.Errorf("read connection: %w", err)
	}
	if fh.Type != packets.Connect {
		return packets.ErrProtocolViolationRequireFirstConnect // [MQTT-3.1.0-1]
	}
	var pk packets.Packet
	if err := h.readPacket(&fh, &pk); err != nil {
		return fmt.Errorf("read connection: %w", err)
	}
	cl.ParseConnect(listener, pk)
	if code := s.validateConnect(cl, &pk); code != packets.CodeSuccess {
		_ = s.mochi.SendConnack(cl, code, false, nil)
		return code // [MQTT-3.2.2-7] [MQTT-3.1.4-6]
	}
	if err := s.connect(cl, pk); err != nil {
		return err
	}
	refreshDeadline(cl)
	c := s.connOf(cl.Net.Conn)
	h.c = c
	c.establish(pk.Connect.Clean)
	if c.sess == nil {
		return errConnectionLost // the core session could not be opened; establish logged why
	}
	// [MQTT-3.1.4-3]: the session's previous connection ends.
	if old, ok := s.mochi.Clients.Get(cl.ID); ok && old != cl {
		_ = s.mochi.DisconnectClient(old, packets.ErrSessionTakenOver)
	}
	s.mochi.Clients.Add(cl) // [MQTT-4.1.0-1]
	// [MQTT-3.2.2-2] [MQTT-3.2.2-3]: Session Present from establish.
	if err := s.mochi.SendConnack(cl, packets.CodeSuccess, c.sessionPresent, nil); err != nil {
		return fmt.Errorf("ack connection packet: %w", err)
	}
	c.established()
	return nil
}

// validateConnect is mochi's check of a CONNECT.
func (s *Server) validateConnect(cl *mochi.Client, pk *packets.Packet) packets.Code {
	if code := pk.ConnectValidate(); code != packets.CodeSuccess { // [MQTT-3.1.4-1] [MQTT-3.1.4-2]
		return code
	}
	caps := s.mochi.Options.Capabilities
	switch {
	case cl.Properties.ProtocolVersion < 5 && !pk.Connect.Clean && pk.Connect.ClientIdentifier == "":
		return packets.ErrUnspecifiedError
	case cl.Properties.ProtocolVersion < caps.MinimumProtocolVersion:
		return packets.ErrUnsupportedProtocolVersion // [MQTT-3.1.2-2]
	case cl.Properties.Will.Qos > caps.MaximumQos:
		return packets.ErrQosNotSupported // [MQTT-3.2.2-12]
	case cl.Properties.Will.Retain && caps.RetainAvailable == 0:
		return packets.ErrRetainNotSupported // [MQTT-3.2.2-13]
	}
	return packets.CodeSuccess
}

// refreshDeadline is mochi's keep-alive: the connection ends when nothing
// comes for one and a half keep-alive periods [MQTT-3.1.2-22].
func refreshDeadline(cl *mochi.Client) {
	var deadline time.Time
	if ka := cl.State.Keepalive; ka > 0 {
		deadline = time.Now().Add(time.Duration(ka+ka/2) * time.Second)
	}
	_ = cl.Net.Conn.SetDeadline(deadline)
}
