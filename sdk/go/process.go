package codepod

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coder/websocket"

	"github.com/codepod-dev/codepod/client"
)

// ProcessInfo is a background process as the server describes it: pid,
// command, status, exit code or signal, and how much of its output the
// sandbox keeps (the last 1 MiB of each stream).
type ProcessInfo = client.Process

// Processes are a sandbox's background processes: commands that run on
// without a client, and that any client can list, read, feed and kill.
// Get them with Sandbox.Process.
type Processes struct{ s *Sandbox }

// Process returns the sandbox's background processes.
func (s *Sandbox) Process() *Processes { return &Processes{s: s} }

// ProcessOptions tune Start and Connect.
type ProcessOptions struct {
	Env map[string]string // Start: added to the sandbox's environment
	Cwd string            // Start: working directory; "" is the user's home
	// OnStdout and OnStderr, when set, receive the process's output as it
	// comes (from the start of what is kept, or from From), one call at a
	// time from one goroutine, until it exits or the handle is closed.
	OnStdout, OnStderr func([]byte)
	// From is the offset of each stream the callbacks start at (Connect);
	// -1: only new output.
	From int64
}

// ProcessHandle is a handle on one background process. Closing it (or
// losing the client) detaches; only Kill ends the process.
type ProcessHandle struct {
	p    *Processes
	PID  int
	info ProcessInfo

	cancel   context.CancelFunc
	streamed chan struct{} // closed when the callbacks' stream ended
}

// Start starts argv in the background and returns at once. Use Shell for
// a script.
func (ps *Processes) Start(ctx context.Context, argv []string, opts *ProcessOptions) (*ProcessHandle, error) {
	if opts == nil {
		opts = &ProcessOptions{}
	}
	req := client.StartProcessRequest{Command: &argv}
	if len(opts.Env) > 0 {
		req.Env = &opts.Env
	}
	if opts.Cwd != "" {
		req.Cwd = &opts.Cwd
	}
	info, err := decode[ProcessInfo](ps.s.c.check(ps.s.c.api.StartProcess(ctx, ps.s.id, req)))
	if err != nil {
		return nil, err
	}
	return ps.handle(*info, opts, 0), nil
}

// Connect reattaches to a process by pid, from this or any other client.
// It fails with ErrNotFound for a pid the sandbox does not know.
func (ps *Processes) Connect(ctx context.Context, pid int, opts *ProcessOptions) (*ProcessHandle, error) {
	if opts == nil {
		opts = &ProcessOptions{}
	}
	info, err := decode[ProcessInfo](ps.s.c.check(ps.s.c.api.GetProcess(ctx, ps.s.id, int64(pid))))
	if err != nil {
		return nil, err
	}
	return ps.handle(*info, opts, opts.From), nil
}

// List lists the sandbox's processes, running and exited, oldest first.
func (ps *Processes) List(ctx context.Context) ([]ProcessInfo, error) {
	list, err := decode[client.ListProcess](ps.s.c.check(ps.s.c.api.ListProcesses(ctx, ps.s.id)))
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (ps *Processes) handle(info ProcessInfo, opts *ProcessOptions, from int64) *ProcessHandle {
	h := &ProcessHandle{p: ps, PID: int(info.Pid), info: info}
	if opts.OnStdout != nil || opts.OnStderr != nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel, h.streamed = cancel, make(chan struct{})
		go func() { defer close(h.streamed); h.stream(ctx, from, opts) }()
	}
	return h
}

// processMsg is a server message of the process stream.
type processMsg struct {
	Type   string `json:"type"`
	Data   []byte `json:"data"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// stream feeds the callbacks until the process exited or ctx ends.
func (h *ProcessHandle) stream(ctx context.Context, from int64, opts *ProcessOptions) {
	path := fmt.Sprintf("%s?stdout_offset=%d&stderr_offset=%d", h.path("/stream"), from, from)
	conn, err := h.p.s.c.dialWS(ctx, path)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var m processMsg
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch {
		case m.Type == "stdout" && opts.OnStdout != nil:
			opts.OnStdout(m.Data)
		case m.Type == "stderr" && opts.OnStderr != nil:
			opts.OnStderr(m.Data)
		case m.Type == "exit" || m.Type == "error":
			conn.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}

func (h *ProcessHandle) path(sub string) string {
	return h.p.s.sandboxPath(fmt.Sprintf("/processes/%d%s", h.PID, sub))
}

// Info is what the server last said about the process.
func (h *ProcessHandle) Info() ProcessInfo { return h.info }

// Refresh asks the server for the process's state.
func (h *ProcessHandle) Refresh(ctx context.Context) (ProcessInfo, error) {
	return h.update(decode[ProcessInfo](h.p.s.c.check(h.p.s.c.api.GetProcess(ctx, h.p.s.id, int64(h.PID)))))
}

func (h *ProcessHandle) update(info *ProcessInfo, err error) (ProcessInfo, error) {
	if err != nil {
		return ProcessInfo{}, err
	}
	h.info = *info
	return *info, nil
}

// Wait waits until the process exited and returns its final state; with
// callbacks, they have had all its output by then. ctx bounds the wait
// (the process runs on).
func (h *ProcessHandle) Wait(ctx context.Context) (ProcessInfo, error) {
	for {
		timeout := int64(30)
		info, err := decode[ProcessInfo](h.p.s.c.check(h.p.s.c.api.WaitProcess(ctx, h.p.s.id, int64(h.PID), &client.WaitProcessParams{Timeout: &timeout})))
		if err != nil {
			return ProcessInfo{}, err
		}
		h.info = *info
		if info.Status == client.ProcessStatusExited {
			break
		}
	}
	if h.streamed != nil {
		select {
		case <-h.streamed:
		case <-ctx.Done():
			return h.info, ctx.Err()
		}
	}
	return h.info, nil
}

// Kill kills the process (SIGKILL to its group) and returns its final state.
func (h *ProcessHandle) Kill(ctx context.Context) (ProcessInfo, error) {
	return h.update(decode[ProcessInfo](h.p.s.c.check(h.p.s.c.api.KillProcess(ctx, h.p.s.id, int64(h.PID)))))
}

// Signal sends a signal ("TERM", "INT", "HUP", ...) to the process's group.
func (h *ProcessHandle) Signal(ctx context.Context, sig string) error {
	_, err := h.update(decode[ProcessInfo](h.p.s.c.check(h.p.s.c.api.SignalProcess(ctx, h.p.s.id, int64(h.PID),
		client.SignalProcessJSONRequestBody{Signal: strings.TrimPrefix(strings.ToUpper(sig), "SIG")}))))
	return err
}

// SendStdin writes data to the process's stdin.
func (h *ProcessHandle) SendStdin(ctx context.Context, data []byte) error {
	b64 := base64.StdEncoding.EncodeToString(data)
	_, err := h.update(decode[ProcessInfo](h.p.s.c.check(h.p.s.c.api.StdinProcess(ctx, h.p.s.id, int64(h.PID),
		client.StdinProcessJSONRequestBody{DataBase64: &b64}))))
	return err
}

// CloseStdin closes the process's stdin: it reads end of file.
func (h *ProcessHandle) CloseStdin(ctx context.Context) error {
	yes := true
	_, err := h.update(decode[ProcessInfo](h.p.s.c.check(h.p.s.c.api.StdinProcess(ctx, h.p.s.id, int64(h.PID),
		client.StdinProcessJSONRequestBody{Close: &yes}))))
	return err
}

// ProcessOutput is a piece of one stream: the bytes from Offset, Dropped
// bytes before it lost (they fell out of the 1 MiB ring), End the stream's
// length so far, EOF once the stream ended.
type ProcessOutput struct {
	Offset, Dropped, End int64
	Data                 []byte
	EOF                  bool
}

// Output reads stream ("stdout" or "stderr") from offset, as far as it is
// kept.
func (h *ProcessHandle) Output(ctx context.Context, stream string, offset int64) (*ProcessOutput, error) {
	st := client.ReadProcessOutputParamsStream(stream)
	o, err := decode[client.ProcessOutput](h.p.s.c.check(h.p.s.c.api.ReadProcessOutput(ctx, h.p.s.id, int64(h.PID),
		&client.ReadProcessOutputParams{Stream: &st, Offset: &offset})))
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(o.Data)
	if err != nil {
		return nil, fmt.Errorf("codepod: decode process output: %w", err)
	}
	return &ProcessOutput{Offset: o.Offset, Dropped: o.Dropped, End: o.End, Data: data, EOF: o.Eof}, nil
}

// Close stops the callbacks' stream (the process runs on).
func (h *ProcessHandle) Close() {
	if h.cancel != nil {
		h.cancel()
		<-h.streamed
	}
}
