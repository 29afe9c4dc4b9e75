package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// dialWS opens a WebSocket to the server as the admin.
func (c *cluster) dialWS(ctx context.Context, t *testing.T, path string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.URL, "http")+path,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + c.AdminKey}}})
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return ws
}

type streamMsg struct {
	Type     string `json:"type"`
	Data     []byte `json:"data,omitempty"`
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// testExecStream sends stdin and a signal to a streamed command.
func testExecStream(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) {
	ws := c.dialWS(ctx, t, "/api/v1/sandboxes/"+sb.ID+"/exec/stream")
	defer ws.CloseNow()
	wsjson.Write(ctx, ws, map[string]any{"shell": `read l; echo "got $l"; exec sleep 30`})
	wsjson.Write(ctx, ws, streamMsg{Type: "stdin", Data: []byte("ping\n")})
	var out strings.Builder
	for {
		var m streamMsg
		if err := wsjson.Read(ctx, ws, &m); err != nil {
			t.Fatalf("read: %v (so far %q)", err, out.String())
		}
		switch m.Type {
		case "stdout":
			out.Write(m.Data)
			if out.String() == "got ping\n" {
				wsjson.Write(ctx, ws, map[string]string{"type": "signal", "signal": "TERM"})
			}
		case "exit":
			if out.String() != "got ping\n" || m.Signal != "TERM" || m.ExitCode != 143 {
				t.Errorf("stdout %q, exit %+v", out.String(), m)
			}
			return
		default:
			t.Fatalf("unexpected message %+v", m)
		}
	}
}

// testTerminal types into the browser terminal's WebSocket.
func testTerminal(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) {
	ws := c.dialWS(ctx, t, "/api/v1/sandboxes/"+sb.ID+"/pty?cols=90&rows=30")
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageBinary, []byte("stty size; exit 7\n"))
	var screen strings.Builder
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v; the screen showed %q", err, screen.String())
		}
		if typ == websocket.MessageBinary {
			screen.Write(b)
			continue
		}
		var m streamMsg
		json.Unmarshal(b, &m)
		if m.Type != "exit" || m.ExitCode != 7 || !strings.Contains(screen.String(), "30 90") {
			t.Errorf("control %s after screen %q", b, screen.String())
		}
		return
	}
}
