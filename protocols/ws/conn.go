package ws

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Conn is a WebSocket connection as a net.Conn carrying a byte stream: Read
// returns the payloads of the peer's data messages one after the other,
// whatever their framing (a message may hold part of a protocol packet,
// or several; fragmented messages are reassembled by the reader as they
// come, never buffered whole), and each Write is sent as one data message.
type Conn struct {
	ws          *websocket.Conn
	subprotocol string
	acceptText  bool // text messages are data too (STOMP); else they end the connection (MQTT)
	writeType   int  // websocket.BinaryMessage or websocket.TextMessage

	rmu sync.Mutex
	r   io.Reader // the message being read

	wmu           sync.Mutex
	writeDeadline atomic.Pointer[time.Time]
}

// ErrTextMessage is returned by Read when a text message arrives on a
// connection that carries binary messages only [MQTT-6.0.0-1].
var ErrTextMessage = errors.New("ws: text message on a binary connection")

// Subprotocol is the negotiated WebSocket subprotocol ("" if none).
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Read reads the stream of data messages.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			mt, r, err := c.ws.NextReader()
			if err != nil {
				return 0, streamError(err)
			}
			if mt == websocket.TextMessage && !c.acceptText {
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "binary messages only"),
					time.Now().Add(time.Second))
				return 0, ErrTextMessage
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil // the message ended; the stream goes on with the next
			err = nil
			if n == 0 {
				continue
			}
		}
		return n, streamError(err)
	}
}

// streamError turns the peer's normal close into io.EOF.
func streamError(err error) error {
	if err == nil {
		return nil
	}
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		return io.EOF
	}
	return err
}

// Write sends p as one data message.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// gorilla keeps the write deadline as writer state, set on the network
	// connection before each frame: it is set here, under the write lock.
	var dl time.Time
	if t := c.writeDeadline.Load(); t != nil {
		dl = *t
	}
	_ = c.ws.SetWriteDeadline(dl)
	if err := c.ws.WriteMessage(c.writeType, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends a close frame (without waiting for the answer) and closes
// the network connection.
func (c *Conn) Close() error {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(100*time.Millisecond))
	return c.ws.Close()
}

// LocalAddr is the local address of the network connection.
func (c *Conn) LocalAddr() net.Addr { return c.ws.LocalAddr() }

// RemoteAddr is the peer's address (a loopback check sees the real peer).
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.ws.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline; like net.Conn's, it may be
// called while a Write is blocked, and makes it fail when it passes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return c.ws.NetConn().SetWriteDeadline(t)
}

// Wrap makes a net.Conn of an established WebSocket connection (a client's
// too). text makes text messages data, both ways; otherwise data is binary.
func Wrap(c *websocket.Conn, text bool) *Conn {
	wc := &Conn{ws: c, subprotocol: c.Subprotocol(), acceptText: text, writeType: websocket.BinaryMessage}
	if text {
		wc.writeType = websocket.TextMessage
	}
	return wc
}
