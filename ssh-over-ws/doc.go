// Package sshws carries a byte stream, in CodePod an SSH connection, over
// WebSockets, so that clients, the server and runners meet on one HTTP(S)
// port and through ordinary corporate proxies.
//
// It has four parts, all free of CodePod's own types:
//
//   - NetConn turns a *websocket.Conn into a net.Conn: binary messages, no
//     read limit, keep-alive pings that detect a vanished peer on an idle
//     stream, a close frame on Close, and the peer's close status surfaced
//     to the reader as a *CloseError.
//   - Splice copies two net.Conns into each other until both directions are
//     done, half-closing where both ends can (TCP, TLS, Unix sockets) and
//     forwarding a WebSocket close status from one side to the other.
//   - Accept and CloseWithReason are the server's side of the handshake.
//   - Dial, NewHTTPClient and TLSConfigWithCA are the client's side: a
//     proxy-aware HTTP client (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), an extra
//     CA bundle, and errors that carry the HTTP status and the problem
//     document's detail when the server refuses the upgrade.
//
// # Half-close
//
// A WebSocket cannot half-close: a close frame ends both directions. So a
// WebSocket conn from this package has no CloseWrite, and when either end
// of a Splice involving a WebSocket reaches end of stream, Splice first
// finishes writing what it read, then closes both ends. Data still in flight
// the other way is dropped. SSH never relies on a half-closed transport (it
// has its own channel EOF and disconnect messages), so the tunnel loses
// nothing by it.
//
// # Liveness
//
// Ping and close frames are only processed while someone reads the
// WebSocket. A conn pings its peer every PingInterval; when a Read has been
// waiting for the whole ping timeout and neither data nor the pong arrived,
// the peer is declared gone: the conn is dropped and reads and writes fail
// with an error that wraps ErrPeerUnresponsive. A conn that nobody reads is
// pinged (which keeps proxies from timing it out) but never judged.
package sshws
