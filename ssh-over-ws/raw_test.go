package sshws_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/coder/websocket"
)

// dialRaw dials a plain *websocket.Conn, for tests of NetConn.
func dialRaw(t *testing.T, ctx context.Context, url string, client *http.Client) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}
