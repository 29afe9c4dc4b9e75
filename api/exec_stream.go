package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// firstMessageWait bounds the wait for a streaming exec's request.
const firstMessageWait = 30 * time.Second

type execStreamInput struct {
	ID          string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	AccessToken string `query:"access_token" doc:"The API key, for browsers, which cannot send an Authorization header with a WebSocket. Prefer the header elsewhere."`
}

// Streaming exec messages (see the operation's description).
type (
	streamOutput struct {
		Type string `json:"type"`
		Data []byte `json:"data"`
	}
	streamExit struct {
		Type       string `json:"type"`
		ExitCode   int    `json:"exit_code"`
		Signal     string `json:"signal"`
		TimedOut   bool   `json:"timed_out"`
		DurationMS int64  `json:"duration_ms"`
	}
	streamError struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	streamClient struct {
		Type   string `json:"type"`
		Data   []byte `json:"data"`
		Signal string `json:"signal"`
	}
)

func registerExecStream(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/exec/stream", "exec-sandbox-stream", "exec",
		"Run a command with streamed input and output (WebSocket)", http.StatusNotFound, http.StatusConflict)
	register(api, s, wsOperation(op, true, "The client's first message is a text frame holding exec-sandbox's request "+
		"(the timeout applies; max_output_bytes and stdin are not used). The server then sends text frames "+
		`{"type":"stdout","data":"<base64>"} and {"type":"stderr","data":"<base64>"} as output comes, and last `+
		`{"type":"exit","exit_code":0,"signal":"","timed_out":false,"duration_ms":12}, or {"type":"error","status":404,"detail":"..."}, `+
		`then closes. The client may send {"type":"stdin","data":"<base64>"}, {"type":"stdin_close"} and {"type":"signal","signal":"TERM"}.`),
		s.execStream)
}

func (s *Server) execStream(ctx context.Context, in *execStreamInput) (*huma.StreamResponse, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	ctx, release, err := s.openSession(ctx, gateway.SessionExec)
	if err != nil {
		return nil, err
	}
	return upgrade(func(w http.ResponseWriter, r *http.Request) { defer release(); s.serveExecStream(ctx, w, r, sb) }), nil
}

// serveExecStream runs one streamed command over an upgraded request.
func (s *Server) serveExecStream(ctx context.Context, w http.ResponseWriter, r *http.Request, sb *codepod.Sandbox) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept answered the request
	}
	defer ws.CloseNow()
	ws.SetReadLimit(maxExecBody)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := &execStream{s: s, ws: ws, log: logger(ctx)}
	req, err := st.readRequest(ctx)
	if err != nil {
		st.fail(ctx, err)
		return
	}
	pr, pw := io.Pipe()
	sigs := make(chan string, 8)
	reading := make(chan struct{})
	go func() { defer close(reading); st.readClient(ctx, cancel, pw, sigs) }()
	var res *gateway.ExecResult
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		h := gateway.StreamHandlers{Stdout: st.output(ctx, cancel, "stdout"), Stderr: st.output(ctx, cancel, "stderr"), Signals: sigs}
		res, err = gateway.ExecStream(ctx, c, req, h, pr)
		return err
	})
	pr.Close()
	if revocation(ctx) != nil {
		err = revocation(ctx)
	}
	if err != nil {
		st.fail(ctx, err)
	} else {
		st.exit(ctx, res)
	}
	<-reading
}

// execStream is one streaming exec's WebSocket.
type execStream struct {
	s   *Server
	ws  *websocket.Conn
	log *slog.Logger
}

// readRequest reads and checks the client's first message.
func (st *execStream) readRequest(ctx context.Context) (gateway.ExecRequest, error) {
	rctx, cancel := context.WithTimeout(ctx, firstMessageWait)
	defer cancel()
	var req ExecRequest
	if err := wsjson.Read(rctx, st.ws, &req); err != nil {
		return gateway.ExecRequest{}, codepod.Errorf(codepod.EINVALID, "the first message must be the exec request as JSON text: %v", err)
	}
	return req.gateway(false)
}

// readClient feeds stdin and signals from the client until it closes or
// the connection fails; then it cancels the command.
func (st *execStream) readClient(ctx context.Context, cancel context.CancelFunc, stdin *io.PipeWriter, sigs chan<- string) {
	defer cancel()
	defer stdin.Close()
	for {
		var m streamClient
		if err := wsjson.Read(ctx, st.ws, &m); err != nil {
			return
		}
		switch m.Type {
		case "stdin":
			stdin.Write(m.Data) // fails once the command ended: ignore
		case "stdin_close":
			stdin.Close()
		case "signal":
			select {
			case sigs <- m.Signal:
			default: // the command is flooded with signals; drop
			}
		}
	}
}

// output returns a handler that sends one stream's chunks.
func (st *execStream) output(ctx context.Context, cancel context.CancelFunc, stream string) func([]byte) {
	return func(p []byte) {
		if err := wsjson.Write(ctx, st.ws, streamOutput{Type: stream, Data: p}); err != nil {
			cancel() // the client is gone: stop the command
		}
	}
}

// exit sends the last message and closes normally.
func (st *execStream) exit(ctx context.Context, res *gateway.ExecResult) {
	msg := streamExit{Type: "exit", ExitCode: res.ExitCode, Signal: res.Signal, TimedOut: res.TimedOut, DurationMS: res.Duration.Milliseconds()}
	if wsjson.Write(ctx, st.ws, msg) == nil {
		st.ws.Close(websocket.StatusNormalClosure, "")
	}
}

// fail sends an error message (a problem's status and detail) and closes.
func (st *execStream) fail(ctx context.Context, err error) {
	if cause := revocation(ctx); cause != nil {
		err, ctx = cause, context.WithoutCancel(ctx) // tell the client why
	} else if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return // the client went away
	}
	status, detail := st.s.problemOf(ctx, err)
	if wsjson.Write(ctx, st.ws, streamError{Type: "error", Status: status, Detail: detail}) == nil {
		st.ws.Close(websocket.StatusNormalClosure, "")
	}
}

// problemOf is the status and detail the problem document of err would
// carry (internal errors are logged and not shown).
func (s *Server) problemOf(ctx context.Context, err error) (int, string) {
	var se huma.StatusError
	if errors.As(s.problem(ctx, err), &se) {
		if m, ok := se.(*huma.ErrorModel); ok {
			return m.Status, m.Detail
		}
		return se.GetStatus(), se.Error()
	}
	return http.StatusInternalServerError, internalDetail
}
