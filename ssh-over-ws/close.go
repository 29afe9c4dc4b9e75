package sshws

import (
	"errors"
	"fmt"
	"net"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// WebSocket close status codes this package sends.
const (
	// StatusNormalClosure ends a stream cleanly; the peer reads io.EOF.
	StatusNormalClosure = int(websocket.StatusNormalClosure)
	// StatusGoingAway is sent when Splice's context ends; the peer reads
	// io.EOF.
	StatusGoingAway = int(websocket.StatusGoingAway)
	// StatusAbnormalClosure is never sent: a *CloseError carries it when
	// the connection ended without a close frame.
	StatusAbnormalClosure = int(websocket.StatusAbnormalClosure)
	// StatusBadGateway is sent by Splice when the other side of the
	// splice failed without a close status of its own.
	StatusBadGateway = int(websocket.StatusBadGateway)
)

// maxReason is the longest close reason a close frame can carry.
const maxReason = 123

// ErrPeerUnresponsive is wrapped by the errors of a conn whose peer did not
// answer a ping in time.
var ErrPeerUnresponsive = errors.New("websocket peer did not answer ping")

// CloseError is what reads (and writes) return after the peer closed the
// WebSocket with a status other than normal closure or going away, which
// read as io.EOF. Servers use codes 4000–4999 for their own reasons, for
// example 4404 "sandbox not running". Code 1006 (StatusAbnormalClosure)
// means the connection ended without a close frame.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket closed with status %d", e.Code)
	}
	return fmt.Sprintf("websocket closed with status %d: %s", e.Code, e.Reason)
}

// CloseWithReason closes conn, a conn made by this package, with a
// WebSocket close status and reason, for example 4404 "sandbox not
// running"; the peer's reads return a *CloseError that carries both. The
// reason is cut to the 123 bytes a close frame holds. A code that a close
// frame cannot carry (valid: 1000–1003, 1007–1014, 3000–4999) is sent as
// 1011 (internal error), and a conn of another kind is closed plainly;
// both return an error that says so.
func CloseWithReason(conn net.Conn, code int, reason string) error {
	c, ok := conn.(*wsConn)
	if !ok {
		conn.Close()
		return fmt.Errorf("close with reason: %T is not a WebSocket conn of package sshws", conn)
	}
	if !sendable(code) {
		c.closeWith(int(websocket.StatusInternalError), reason)
		return fmt.Errorf("close with reason: status %d cannot be sent, sent 1011 instead", code)
	}
	return c.closeWith(code, reason)
}

// truncateReason cuts s to what a close frame can carry, on a rune
// boundary.
func truncateReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
