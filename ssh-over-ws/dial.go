package sshws

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// DialOptions tunes Dial.
type DialOptions struct {
	// Header is sent with the upgrade request, for example
	// Authorization: Bearer <key>.
	Header http.Header
	// HTTPClient makes the upgrade request; its transport decides proxy
	// and TLS. Nil means a client from NewHTTPClient(""), which honours
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY. An overall Timeout on it bounds
	// only the handshake.
	HTTPClient *http.Client
	// PingInterval is how often the conn pings the server: zero means
	// DefaultPingInterval, negative turns pings off.
	PingInterval time.Duration
}

var defaultClient = sync.OnceValue(func() *http.Client {
	c, _ := NewHTTPClient("") // cannot fail without a CA file
	return c
})

// Dial opens a WebSocket to rawURL (http, https, ws or wss; http means ws)
// and returns it as a net.Conn (see NetConn). ctx bounds the handshake
// only; the conn lives until it is closed or fails.
//
// When the server answers with anything but 101 Switching Protocols, the
// error is a *DialError with the HTTP status and, when the body is an RFC
// 9457 problem document, its detail ("sandbox not found").
func Dial(ctx context.Context, rawURL string, opts DialOptions) (net.Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("dial websocket: parse URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("dial websocket %s: scheme %q is not http, https, ws or wss", redact(u), u.Scheme)
	}
	client := opts.HTTPClient
	if client == nil {
		client = defaultClient()
	}
	var frames *frameReader
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient:      coalescingClient(client, &frames),
		HTTPHeader:      opts.Header,
		Subprotocols:    []string{Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, newDialError(redact(u), resp)
		}
		return nil, fmt.Errorf("dial websocket %s: %w", redact(u), err)
	}
	return NetConn(context.Background(), ws, WithPingInterval(opts.PingInterval), withFrames(frames)), nil
}

// redact drops what may hold a secret (user info, query) from u for
// messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}
