package sshws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Subprotocol is the WebSocket subprotocol name of a raw SSH stream. Dial
// offers it and Accept selects it when offered; clients that do not offer
// it are accepted too.
const Subprotocol = "codepod.ssh.v1"

// DefaultPingInterval is how often a conn pings its peer when no interval
// is given. It is well under common proxy idle timeouts (60 s and more).
const DefaultPingInterval = 15 * time.Second

// Option tunes a conn made by NetConn.
type Option func(*connConfig)

type connConfig struct {
	pingInterval time.Duration
	pingTimeout  time.Duration
	frames       *frameReader
}

// withFrames tells the conn the frameReader its library reads through, so
// that Read can take a next message that has arrived whole.
func withFrames(f *frameReader) Option {
	return func(c *connConfig) { c.frames = f }
}

// WithPingInterval sets how often the conn pings its peer; zero means
// DefaultPingInterval and a negative value turns pings off.
func WithPingInterval(d time.Duration) Option {
	return func(c *connConfig) { c.pingInterval = d }
}

// WithPingTimeout sets how long a pong may take (default: the interval).
func WithPingTimeout(d time.Duration) Option {
	return func(c *connConfig) { c.pingTimeout = d }
}

// newConnConfig applies opts over the defaults.
func newConnConfig(opts []Option) connConfig {
	var cfg connConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.pingInterval == 0 {
		cfg.pingInterval = DefaultPingInterval
	}
	if cfg.pingTimeout <= 0 {
		cfg.pingTimeout = cfg.pingInterval
	}
	return cfg
}

// wsConn is the net.Conn that NetConn, Accept and Dial return.
type wsConn struct {
	net.Conn // websocket.NetConn, binary messages
	ws       *websocket.Conn

	stopPing   context.CancelFunc
	pingDone   chan struct{}
	stopCtx    func() bool
	closeOnce  sync.Once
	reading    atomic.Int32  // Reads in progress
	reads      atomic.Uint64 // Reads finished
	stickyMu   sync.Mutex
	sticky     error // final error seen: peer's close status or ping failure
	pingFailed atomic.Bool

	// The read side, which reads messages itself rather than through
	// websocket.NetConn (see Read).
	readCtx     context.Context // ended by the read deadline's timer or Close
	readCancel  context.CancelFunc
	readTimer   *time.Timer
	readExpired atomic.Bool
	readMu      sync.Mutex
	msg         io.Reader    // the message being read, nil between messages
	frames      *frameReader // nil when the library reads the socket otherwise
}

// NetConn turns c into a net.Conn that carries a byte stream in binary
// messages, without a read limit. ctx bounds the conn's life: when it
// ends the connection is dropped without a close handshake. Close sends a
// normal close frame; CloseWithReason sends another status.
//
// The conn pings its peer (see WithPingInterval and the package doc on
// liveness). A close status from the peer other than normal closure or
// going away surfaces from Read and Write as a *CloseError.
//
// Each Write is one binary message. Deadlines behave as in
// websocket.NetConn: one that expires while a Read or Write waits drops the
// whole connection, unlike a TCP conn's.
func NetConn(ctx context.Context, c *websocket.Conn, opts ...Option) net.Conn {
	cfg := newConnConfig(opts)
	wc := &wsConn{
		Conn:     websocket.NetConn(ctx, c, websocket.MessageBinary),
		ws:       c,
		pingDone: make(chan struct{}),
		frames:   cfg.frames,
	}
	// As in websocket.NetConn: a deadline that passes ends the read
	// context, which drops the connection if a read is waiting.
	wc.readCtx, wc.readCancel = context.WithCancel(ctx)
	wc.readTimer = time.AfterFunc(math.MaxInt64, func() {
		wc.readExpired.Store(true)
		wc.readCancel()
	})
	wc.stopCtx = context.AfterFunc(ctx, func() { c.CloseNow() })
	pctx, cancel := context.WithCancel(ctx)
	wc.stopPing = cancel
	if cfg.pingInterval > 0 {
		go wc.pingLoop(pctx, cfg.pingInterval, cfg.pingTimeout)
	} else {
		close(wc.pingDone)
	}
	return wc
}

// Read reads stream bytes; see NetConn for its errors.
//
// It returns the rest of the current message when p has room for it, not
// just what has arrived of it: the peer wrote the message at once, so the
// rest is on its way, and a relay (Splice) that passed each arrived piece
// on as a message of its own would cut a 64 KiB message into 4 KiB ones at
// every hop. It never waits for a next message once it has bytes, but
// takes one that has arrived whole and fits (see frameReader): a relay
// passes an SSH packet that its sender wrote in two pieces on as one
// message.
func (c *wsConn) Read(p []byte) (int, error) {
	c.reading.Add(1)
	n, err := c.read(p)
	c.reads.Add(1)
	c.reading.Add(-1)
	if err != nil {
		err = c.readErr(err)
	}
	return n, err
}

// Write sends p as one binary message.
func (c *wsConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		if s := c.stickyErr(); s != nil && s != io.EOF {
			err = s
		}
	}
	return n, err
}

func (c *wsConn) read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	ctx := c.readCtx
	if c.readExpired.Load() {
		return 0, fmt.Errorf("read websocket: %w", os.ErrDeadlineExceeded)
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	for n < len(p) {
		if c.msg == nil {
			if n > 0 && (c.frames == nil || !c.frames.nextComplete(len(p)-n)) {
				break
			}
			typ, r, err := c.ws.Reader(ctx)
			if err != nil {
				return n, err
			}
			if typ != websocket.MessageBinary {
				err := fmt.Errorf("unexpected %v message, want binary", typ)
				c.ws.Close(websocket.StatusUnsupportedData, err.Error())
				return n, err
			}
			c.msg = r
		}
		m, err := c.msg.Read(p[n:])
		n += m
		if err == io.EOF {
			c.msg = nil
			continue
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// SetDeadline sets both deadlines; see SetReadDeadline.
func (c *wsConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// SetReadDeadline bounds Reads; as with websocket.NetConn, one that expires
// while a Read waits drops the whole connection.
func (c *wsConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.readTimer.Reset(math.MaxInt64)
	} else {
		c.readTimer.Reset(time.Until(t))
	}
	return nil
}

// readErr turns the library's read errors into this package's: io.EOF for
// a clean close, *CloseError for another status or a lost connection, and
// the ping failure when that is why the connection was dropped.
func (c *wsConn) readErr(err error) error {
	if s := c.stickyErr(); s != nil {
		return s
	}
	var ce websocket.CloseError
	switch {
	case err == io.EOF:
		return c.setSticky(io.EOF)
	case errors.As(err, &ce):
		switch ce.Code {
		case websocket.StatusNoStatusRcvd, websocket.StatusNormalClosure, websocket.StatusGoingAway:
			return c.setSticky(io.EOF)
		}
		return c.setSticky(&CloseError{Code: int(ce.Code), Reason: ce.Reason})
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return c.setSticky(&CloseError{Code: StatusAbnormalClosure, Reason: "connection lost without a close frame"})
	}
	return err
}

func (c *wsConn) stickyErr() error {
	c.stickyMu.Lock()
	defer c.stickyMu.Unlock()
	return c.sticky
}

// setSticky records err as the conn's final error unless one is already
// recorded, and returns the recorded one.
func (c *wsConn) setSticky(err error) error {
	c.stickyMu.Lock()
	defer c.stickyMu.Unlock()
	if c.sticky == nil {
		c.sticky = err
	}
	return c.sticky
}

// Close sends a normal close frame, waits (at most a few seconds) for the
// peer's, and releases the conn. Later calls do nothing.
func (c *wsConn) Close() error {
	return c.closeWith(StatusNormalClosure, "")
}

func (c *wsConn) closeWith(code int, reason string) error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.stopPing()
		<-c.pingDone
		c.stopCtx()
		c.readTimer.Stop()
		defer c.readCancel()
		err = c.ws.Close(websocket.StatusCode(code), truncateReason(reason))
		c.Conn.Close() // stops websocket.NetConn's timers; the socket is closed already
		if errors.Is(err, net.ErrClosed) || c.pingFailed.Load() {
			err = nil
		}
	})
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("close websocket: %w", err)
	}
	return nil
}
