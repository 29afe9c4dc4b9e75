package sshws

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// AcceptOptions tunes Accept.
type AcceptOptions struct {
	// OriginPatterns lists the browser origins allowed besides the
	// request's own host (see websocket.AcceptOptions). Clients that send
	// no Origin header, such as the CLI and runners, are always allowed.
	OriginPatterns []string
	// PingInterval is how often the conn pings the client: zero means
	// DefaultPingInterval, negative turns pings off.
	PingInterval time.Duration
}

// Accept upgrades the request to a WebSocket (selecting Subprotocol when
// the client offers it, compression off) and returns it as a net.Conn (see
// NetConn). On failure it has already answered the request.
//
// The conn lives no longer than the handler: r.Context() ends when the
// handler returns, and with it the conn. Keep the handler running while
// the conn is in use, for example by calling Splice from it. To refuse
// after the upgrade, with a status the client can show, use
// CloseWithReason.
func Accept(w http.ResponseWriter, r *http.Request, opts AcceptOptions) (net.Conn, error) {
	var frames *frameReader
	ws, err := websocket.Accept(frameHijacker{w, &frames}, r, &websocket.AcceptOptions{
		Subprotocols:    []string{Subprotocol},
		OriginPatterns:  opts.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, fmt.Errorf("accept websocket: %w", err)
	}
	return NetConn(r.Context(), ws, WithPingInterval(opts.PingInterval), withFrames(frames)), nil
}

// frameHijacker hands coder/websocket, as the hijacked connection's
// writer, a 4 KiB bufio.Writer over a frameWriter: the library buffers a
// frame's header and flushes it with the first 4 KiB of the payload before
// writing the rest, two writes a message; the frameWriter makes them one.
//
// As its reader it hands a small bufio.Reader over a frameReader, which
// reads the socket through a readBuffer (net/http's is 4 KiB): with 4 KiB
// the library would take a message of an SSH packet (up to 32 KiB) in two
// reads from the socket, the header with 4 KiB, then the rest; with room
// for the whole message, one read takes it (and any message that came
// after it), and the conn's Read can see whether the next message is here
// (see frameReader). frames receives the frameReader.
type frameHijacker struct {
	http.ResponseWriter
	frames **frameReader
}

// libReadBuffer is the size of the bufio.Reader the library reads a
// frameReader through: the smallest bufio allows, room for a frame header
// (14 bytes); payloads of 16 bytes and more are read past it.
const libReadBuffer = 16

// readBuffer is the size of a conn's read buffer (see frameReader): room
// for an SSH packet of the largest size x/crypto/ssh and OpenSSH send (32
// KiB of payload, plus padding and MAC) and its frame header, and when the
// peer is ahead, for most of the next one, so that one read from the
// socket serves more than one packet. It lives as long as its conn (a
// Read waiting for its peer holds it).
const readBuffer = 64 << 10

// framedConn is a hijacked conn whose reads go through a frameReader.
type framedConn struct {
	net.Conn
	f *frameReader
}

func (c framedConn) Read(p []byte) (int, error) { return c.f.Read(p) }

func (h frameHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h frameHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil || brw.Writer.Buffered() > 0 {
		return conn, brw, err
	}
	brw.Writer = bufio.NewWriter(newFrameWriter(conn))
	// The library reads through brw.Reader, which it resets onto the
	// returned conn (golang/go#32314): the conn reads through the
	// frameReader, which starts with what net/http has buffered already (a
	// client may send its first frames as soon as it has read the answer's
	// header, and net/http may have read them).
	var src io.Reader = conn
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
	}
	f := newFrameReader(src)
	*h.frames = f
	brw.Reader = bufio.NewReaderSize(f, libReadBuffer)
	return framedConn{conn, f}, brw, nil
}
