package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/coder/websocket"
	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

type ptyInput struct {
	ID          string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	AccessToken string `query:"access_token" doc:"The API key, for browsers, which cannot send an Authorization header with a WebSocket. Prefer the header elsewhere."`
	Cols        int    `query:"cols" minimum:"1" maximum:"10000" default:"80" doc:"Terminal width."`
	Rows        int    `query:"rows" minimum:"1" maximum:"10000" default:"24" doc:"Terminal height."`
	Command     string `query:"command" maxLength:"65536" doc:"Command to run instead of the login shell."`
}

// ptyControl is a text frame of the terminal protocol.
type ptyControl struct {
	Type     string `json:"type"`
	Cols     int    `json:"cols,omitempty"`
	Rows     int    `json:"rows,omitempty"`
	ExitCode int    `json:"exit_code"`
}

func registerPTY(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/pty", "open-terminal", "exec",
		"Open a terminal in a sandbox (WebSocket, for browsers)", http.StatusNotFound, http.StatusConflict)
	register(api, s, wsOperation(op, true, "Binary frames are terminal bytes both ways (keystrokes in, screen out). "+
		`Text frames are JSON control: the client sends {"type":"resize","cols":N,"rows":N}; the server sends {"type":"exit","exit_code":N} `+
		"when the shell ends, then closes. The server relays the terminal from its own SSH connection to the sandbox."), s.openTerminal)
}

func (s *Server) openTerminal(ctx context.Context, in *ptyInput) (*huma.StreamResponse, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	ctx, release, err := s.openSession(ctx, gateway.SessionTunnel)
	if err != nil {
		return nil, err
	}
	return upgrade(func(w http.ResponseWriter, r *http.Request) { defer release(); s.serveTerminal(ctx, w, r, sb, in) }), nil
}

// serveTerminal relays a PTY session over an upgraded request.
func (s *Server) serveTerminal(ctx context.Context, w http.ResponseWriter, r *http.Request, sb *codepod.Sandbox, in *ptyInput) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var term *gateway.Terminal
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		term, err = gateway.Shell(ctx, c, in.Cols, in.Rows, in.Command)
		return err
	})
	if err != nil {
		code, reason := closeFor(ctx, err)
		ws.Close(websocket.StatusCode(code), reason)
		return
	}
	defer term.Close()
	screen := make(chan struct{})
	keys := make(chan struct{})
	go func() { defer close(screen); relayScreen(ctx, cancel, ws, term) }()
	go func() { defer close(keys); relayKeys(ctx, cancel, ws, term) }()
	code, err := term.Wait()
	<-screen // everything the terminal showed is sent before the exit
	if cause := revocation(ctx); cause != nil {
		err = cause
	}
	if err != nil {
		code, reason := closeFor(ctx, err)
		ws.Close(websocket.StatusCode(code), reason)
	} else if exit, _ := json.Marshal(ptyControl{Type: "exit", ExitCode: code}); ws.Write(ctx, websocket.MessageText, exit) == nil {
		ws.Close(websocket.StatusNormalClosure, "")
	}
	cancel()
	<-keys
}

// relayScreen copies the terminal's output to binary frames.
func relayScreen(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn, term *gateway.Terminal) {
	buf := make([]byte, 32<<10)
	for {
		n, err := term.Stdout.Read(buf)
		if n > 0 {
			if werr := ws.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
				cancel() // the browser is gone: end the terminal
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// relayKeys feeds binary frames to the terminal and applies resizes, until
// the WebSocket ends; then it ends the terminal.
func relayKeys(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn, term *gateway.Terminal) {
	defer cancel()
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if _, err := term.Stdin.Write(b); err != nil {
				return
			}
			continue
		}
		var m ptyControl
		if json.Unmarshal(b, &m) == nil && m.Type == "resize" {
			term.Resize(m.Cols, m.Rows) // a bad size is ignored, as a terminal would
		}
	}
}
