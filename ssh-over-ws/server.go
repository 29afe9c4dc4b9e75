package sshws

import (
	"bufio"
	"fmt"
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
	ws, err := websocket.Accept(frameHijacker{w}, r, &websocket.AcceptOptions{
		Subprotocols:    []string{Subprotocol},
		OriginPatterns:  opts.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, fmt.Errorf("accept websocket: %w", err)
	}
	return NetConn(r.Context(), ws, WithPingInterval(opts.PingInterval)), nil
}

// frameHijacker hands coder/websocket, as the hijacked connection's
// writer, a 4 KiB bufio.Writer over a frameWriter: the library buffers a
// frame's header and flushes it with the first 4 KiB of the payload before
// writing the rest, two writes a message; the frameWriter makes them one.
//
// As its reader it hands a readBuffer-sized bufio.Reader (net/http's is 4
// KiB): the library reads a frame's header through it, and with 4 KiB it
// takes a message of an SSH packet (up to 32 KiB) in two reads from the
// socket, the header with 4 KiB, then the rest; with room for the whole
// message, one read takes it (and any message that came after it).
type frameHijacker struct{ http.ResponseWriter }

// readBuffer is the size of an accepted conn's read buffer: an SSH packet
// of the largest size x/crypto/ssh and OpenSSH send (32 KiB of payload,
// plus padding and MAC) in a message, and its frame header, fit.
const readBuffer = 40 << 10

func (h frameHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h frameHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil || brw.Writer.Buffered() > 0 {
		return conn, brw, err
	}
	brw.Writer = bufio.NewWriter(newFrameWriter(conn))
	if brw.Reader.Buffered() == 0 {
		brw.Reader = bufio.NewReaderSize(conn, readBuffer)
	}
	return conn, brw, nil
}
