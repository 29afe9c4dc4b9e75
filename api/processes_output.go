package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// ProcessOutput is a piece of one of a process's streams.
type ProcessOutput struct {
	Stream  string `json:"stream" enum:"stdout,stderr"`
	Offset  int64  `json:"offset" doc:"The stream offset of data's first byte. Later than the offset asked for when the bytes between fell out of the agent's 1 MiB ring (dropped counts them)."`
	Dropped int64  `json:"dropped" doc:"Bytes between the offset asked for and offset that are lost: they fell out of the ring."`
	Data    []byte `json:"data" doc:"The bytes, base64 (standard encoding)."`
	End     int64  `json:"end" doc:"The stream's length so far: read again from offset+len(data) for more."`
	EOF     bool   `json:"eof" doc:"The stream has ended (the process exited) and data is its last part."`
}

func newProcessOutput(c *gateway.ProcessChunk) ProcessOutput {
	out := ProcessOutput{Stream: c.Stream, Offset: c.Offset, Dropped: c.Dropped, Data: c.Data, End: c.End, EOF: c.EOF}
	if out.Data == nil {
		out.Data = []byte{}
	}
	return out
}

type (
	readOutputInput struct {
		ID     string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		PID    int    `path:"pid" minimum:"1" doc:"The process's pid, as start-process returned it."`
		Stream string `query:"stream" enum:"stdout,stderr" default:"stdout" doc:"Which stream to read."`
		Offset int64  `query:"offset" minimum:"0" doc:"The stream offset to read from (0: from the start, as far as it is kept)."`
		Limit  int    `query:"limit" minimum:"1" maximum:"1048576" default:"1048576" doc:"Most bytes to return."`
	}
	readOutputOutput struct {
		Body ProcessOutput
	}
	streamProcessInput struct {
		ID           string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		PID          int    `path:"pid" minimum:"1" doc:"The process's pid, as start-process returned it."`
		StdoutOffset int64  `query:"stdout_offset" minimum:"-1" doc:"Stdout offset to stream from; -1: only new output."`
		StderrOffset int64  `query:"stderr_offset" minimum:"-1" doc:"Stderr offset to stream from; -1: only new output."`
		AccessToken  string `query:"access_token" doc:"The API key, for browsers, which cannot send an Authorization header with a WebSocket. Prefer the header elsewhere."`
	}
	// processStreamMessage is a server message of stream-process.
	processStreamMessage struct {
		Type    string   `json:"type"`
		Offset  int64    `json:"offset,omitempty"`
		Dropped int64    `json:"dropped,omitempty"`
		Data    []byte   `json:"data,omitempty"`
		Process *Process `json:"process,omitempty"`
	}
)

func registerProcessOutput(api huma.API, s *Server, errs []int) {
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/processes/{pid}/output", "read-process-output", "processes", "Read a background process's output", errs...)
	register(api, s, describe(op, "Returns the bytes of one stream from offset, as far as the agent keeps them (the last 1 MiB). "+
		"An offset that fell out of the ring is not an error: the answer starts at the oldest kept byte and dropped says how many were lost."), s.readProcessOutput)
	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/processes/{pid}/stream", "stream-process", "processes",
		"Attach to a background process (WebSocket)", errs...)
	register(api, s, wsOperation(op, true, "Streams the process's output from the offsets asked for, then live: text frames "+
		`{"type":"stdout","offset":0,"data":"<base64>"} and {"type":"stderr",...}; "dropped" is set when bytes before offset fell out of the ring. `+
		`When the process has exited and both streams ended: {"type":"exit","process":{...}}, then the server closes. `+
		`The client may send {"type":"stdin","data":"<base64>"}, {"type":"stdin_close"} and {"type":"signal","signal":"TERM"}. `+
		"Closing the socket detaches: the process keeps running. Errors: {\"type\":\"error\",\"status\":404,\"detail\":\"...\"}."), s.streamProcess)
}

func (s *Server) readProcessOutput(ctx context.Context, in *readOutputInput) (*readOutputOutput, error) {
	r, err := s.processCall(ctx, in.ID, gateway.ProcessRequest{Op: "read", PID: in.PID, Stream: in.Stream, Offset: in.Offset, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	if r.Chunk == nil {
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox agent gave no output of process %d; try again", in.PID)
	}
	return &readOutputOutput{Body: newProcessOutput(r.Chunk)}, nil
}

func (s *Server) streamProcess(ctx context.Context, in *streamProcessInput) (*huma.StreamResponse, error) {
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	// Fail before the upgrade for a process that is not there.
	if _, err := s.processCall(ctx, sb.ID, gateway.ProcessRequest{Op: "get", PID: in.PID}); err != nil {
		return nil, err
	}
	ctx, release, err := s.openSession(ctx, gateway.SessionExec)
	if err != nil {
		return nil, err
	}
	return upgrade(func(w http.ResponseWriter, r *http.Request) {
		defer release()
		s.serveProcessStream(ctx, w, r, sb.ID, in)
	}), nil
}

// serveProcessStream relays one process's output to a WebSocket and the
// client's stdin and signals to the process.
func (s *Server) serveProcessStream(ctx context.Context, w http.ResponseWriter, r *http.Request, sandboxID string, in *streamProcessInput) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(maxExecBody)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := &execStream{s: s, ws: ws, log: logger(ctx)}
	reading := make(chan struct{})
	go func() { defer close(reading); s.readProcessClient(ctx, cancel, ws, sandboxID, in.PID) }()
	req := gateway.ProcessRequest{Op: "follow", PID: in.PID, StdoutOffset: in.StdoutOffset, StderrOffset: in.StderrOffset}
	var last *gateway.Process
	sb := &codepod.Sandbox{ID: sandboxID}
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		return gateway.ProcessFollow(ctx, c, req, func(rep *gateway.ProcessReply) error {
			switch {
			case rep.Chunk != nil && (len(rep.Chunk.Data) > 0 || rep.Chunk.Dropped > 0):
				c := rep.Chunk
				return wsjson.Write(ctx, ws, processStreamMessage{Type: c.Stream, Offset: c.Offset, Dropped: c.Dropped, Data: c.Data})
			case rep.Process != nil:
				last = rep.Process
			}
			return nil
		})
	})
	if revocation(ctx) != nil {
		err = revocation(ctx)
	}
	switch {
	case err != nil:
		st.fail(ctx, err)
	case last != nil:
		p := newProcess(last)
		if wsjson.Write(ctx, ws, processStreamMessage{Type: "exit", Process: &p}) == nil {
			ws.Close(websocket.StatusNormalClosure, "")
		}
	}
	cancel()
	<-reading
}

// readProcessClient forwards the client's stdin and signals until it
// closes the socket, then cancels the stream (the process runs on).
func (s *Server) readProcessClient(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn, sandboxID string, pid int) {
	defer cancel()
	for {
		var m streamClient
		if err := wsjson.Read(ctx, ws, &m); err != nil {
			return
		}
		req := gateway.ProcessRequest{PID: pid}
		switch m.Type {
		case "stdin":
			req.Op, req.Data = "stdin", m.Data
		case "stdin_close":
			req.Op, req.Close = "stdin", true
		case "signal":
			sig, ok := gateway.ParseSignal(m.Signal)
			if !ok {
				continue
			}
			req.Op, req.Signal = "signal", sig
		default:
			continue
		}
		sb := &codepod.Sandbox{ID: sandboxID}
		err := s.withAgent(ctx, sb, func(c *ssh.Client) error {
			_, err := gateway.ProcessCall(ctx, c, req)
			return err
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			st := &execStream{s: s, ws: ws, log: logger(ctx)}
			status, detail := s.problemOf(ctx, err)
			st.log.Debug("process stream input failed", "status", status, "detail", detail)
			wsjson.Write(ctx, ws, streamError{Type: "error", Status: status, Detail: detail})
		}
	}
}
