package codepod

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// StreamOptions tune ExecStream.
type StreamOptions struct {
	Env     map[string]string // added to the sandbox's environment
	Cwd     string            // working directory; "" is the user's home
	Timeout time.Duration     // as in ExecOptions
	// Stdin is copied to the command's standard input, which is closed at
	// its end; nil closes it at once.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output as it comes; nil
	// drops it. Writes come from one goroutine, one at a time.
	Stdout, Stderr io.Writer
}

// streamMsg is one message of the exec stream, either way.
type streamMsg struct {
	Type       string `json:"type"`
	Data       string `json:"data,omitempty"`
	Signal     string `json:"signal,omitempty"`
	ExitCode   int    `json:"exit_code,omitempty"`
	TimedOut   bool   `json:"timed_out,omitempty"`
	DurationMs int64  `json:"duration_ms,omitempty"`
	Status     int    `json:"status,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// ExecStream runs argv in the sandbox over a WebSocket, passing its output
// to opts.Stdout and opts.Stderr while it runs, for long commands and
// large output. It returns how the command ended; like Exec, a command that
// fails is not an error. When ctx ends first, the command is killed and
// ctx's error returned.
func (s *Sandbox) ExecStream(ctx context.Context, argv []string, opts *StreamOptions) (*ExitStatus, error) {
	if opts == nil {
		opts = &StreamOptions{}
	}
	conn, err := s.c.dialWS(ctx, s.sandboxPath("/exec/stream"))
	if err != nil {
		return nil, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	first := execRequest(argv, &ExecOptions{Env: opts.Env, Cwd: opts.Cwd, Timeout: opts.Timeout})
	if err := writeJSON(ctx, conn, first); err != nil {
		return nil, fmt.Errorf("codepod: send the command: %w", err)
	}
	go sendStdin(ctx, conn, opts.Stdin)
	st, err := readStream(ctx, conn, opts)
	if err != nil && ctx.Err() != nil {
		kctx, cancel := context.WithTimeout(context.Background(), time.Second)
		writeJSON(kctx, conn, streamMsg{Type: "signal", Signal: "KILL"})
		cancel()
		return nil, ctx.Err()
	}
	if err == nil {
		conn.Close(websocket.StatusNormalClosure, "")
	}
	return st, err
}

// dialWS opens a WebSocket to an API path with the client's credential. A
// refused upgrade becomes an *Error with the server's problem document.
func (c *Client) dialWS(ctx context.Context, path string) (*websocket.Conn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.apiKey)
	h.Set("User-Agent", userAgent)
	if c.workspace != "" {
		h.Set("Codepod-Workspace", c.workspace)
	}
	conn, resp, err := websocket.Dial(ctx, c.serverURL+"/api/v1"+path, &websocket.DialOptions{
		HTTPClient: c.http, HTTPHeader: h, CompressionMode: websocket.CompressionDisabled,
	})
	if err == nil {
		return conn, nil
	}
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(resp.Body)
		}
		return nil, problemFrom(resp, body)
	}
	return nil, c.transportError(err)
}

func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageText, b)
}

// sendStdin copies r to the command's stdin, then closes it.
func sendStdin(ctx context.Context, conn *websocket.Conn, r io.Reader) {
	if r != nil {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				msg := streamMsg{Type: "stdin", Data: base64.StdEncoding.EncodeToString(buf[:n])}
				if writeJSON(ctx, conn, msg) != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
	}
	writeJSON(ctx, conn, streamMsg{Type: "stdin_close"})
}

// readStream passes output on until the exit or error message.
func readStream(ctx context.Context, conn *websocket.Conn, opts *StreamOptions) (*ExitStatus, error) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("codepod: exec stream ended before the command did: %w", err)
		}
		var m streamMsg
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("codepod: exec stream: bad message: %w", err)
		}
		switch m.Type {
		case "stdout", "stderr":
			if err := deliver(m, opts); err != nil {
				return nil, err
			}
		case "exit":
			return &ExitStatus{ExitCode: m.ExitCode, Signal: m.Signal, TimedOut: m.TimedOut,
				Duration: time.Duration(m.DurationMs) * time.Millisecond}, nil
		case "error":
			return nil, &Error{Status: m.Status, Kind: kindOf(m.Status), Title: http.StatusText(m.Status), Detail: m.Detail}
		}
	}
}

func deliver(m streamMsg, opts *StreamOptions) error {
	w := opts.Stdout
	if m.Type == "stderr" {
		w = opts.Stderr
	}
	if w == nil {
		return nil
	}
	data, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		return fmt.Errorf("codepod: exec stream: bad %s data: %w", m.Type, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("codepod: write %s: %w", m.Type, err)
	}
	return nil
}
