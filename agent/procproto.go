package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent/proc"
	"github.com/gliderlabs/ssh"
)

// ProcessSubsystem is the SSH subsystem that manages background processes.
// One channel carries one request: a JSON line from the client, then the
// agent's JSON lines (see docs/agent.md), then exit status 0.
const ProcessSubsystem = "codepod-process"

// maxProcessRequest bounds a request line (stdin data travels in it).
const maxProcessRequest = 8 << 20

// ProcessRequest is a client's request line.
type ProcessRequest struct {
	Op      string            `json:"op"` // start, list, get, read, follow, stdin, signal, wait, kill
	PID     int               `json:"pid,omitempty"`
	Command []string          `json:"command,omitempty"` // start: argv, run without a shell
	Env     map[string]string `json:"env,omitempty"`     // start
	Cwd     string            `json:"cwd,omitempty"`     // start
	// read: Stream is stdout or stderr, from Offset, at most Limit bytes.
	Stream string `json:"stream,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	// follow: from these offsets of each stream (-1: from the end).
	StdoutOffset int64  `json:"stdout_offset,omitempty"`
	StderrOffset int64  `json:"stderr_offset,omitempty"`
	Data         []byte `json:"data,omitempty"`  // stdin
	Close        bool   `json:"close,omitempty"` // stdin: close after Data
	Signal       string `json:"signal,omitempty"`
	TimeoutMS    int64  `json:"timeout_ms,omitempty"` // wait, kill
}

// ProcessChunk is output from one stream. Offset is where Data starts; it
// is later than the offset asked for when the bytes between fell out of
// the ring (Dropped counts them). End is the stream's length so far; EOF
// says the stream ended with Data.
type ProcessChunk struct {
	Stream  string `json:"stream"`
	Offset  int64  `json:"offset"`
	Dropped int64  `json:"dropped,omitempty"`
	Data    []byte `json:"data"`
	End     int64  `json:"end"`
	EOF     bool   `json:"eof,omitempty"`
}

// ProcessError is a failed request's answer.
type ProcessError struct {
	Code    string `json:"code"` // not_found, invalid, cannot_start, too_many, stdin_closed, stdin_full
	Message string `json:"message"`
}

// ProcessReply is one line of the agent's answer; one member is set.
type ProcessReply struct {
	Process   *ProcessInfo  `json:"process,omitempty"`
	Processes []ProcessInfo `json:"processes,omitempty"`
	Chunk     *ProcessChunk `json:"chunk,omitempty"`
	Error     *ProcessError `json:"error,omitempty"`
}

// handleProcess serves one request of the process subsystem.
func (a *Agent) handleProcess(s ssh.Session) {
	if !a.track() {
		s.Exit(255)
		return
	}
	defer a.wg.Done()
	enc := json.NewEncoder(stdoutOf(s))
	var req ProcessRequest
	line, err := bufio.NewReaderSize(io.LimitReader(s, maxProcessRequest), 64<<10).ReadBytes('\n')
	if err == nil || errors.Is(err, io.EOF) {
		err = json.Unmarshal(line, &req)
	}
	if err != nil {
		enc.Encode(replyError(procErrorf("invalid", "the request must be one JSON line: %v", err)))
		s.Exit(0)
		return
	}
	if err := a.serveProcess(s, enc, &req); err != nil {
		enc.Encode(replyError(err))
	}
	s.Exit(0)
}

func replyError(err error) ProcessReply {
	var pe *procError
	if errors.As(err, &pe) {
		return ProcessReply{Error: &ProcessError{Code: pe.code, Message: pe.msg}}
	}
	return ProcessReply{Error: &ProcessError{Code: "internal", Message: err.Error()}}
}

// serveProcess runs req and writes its answer.
func (a *Agent) serveProcess(s ssh.Session, enc *json.Encoder, req *ProcessRequest) error {
	if req.Op == "list" {
		var out []ProcessInfo
		for _, m := range a.procs.list() {
			out = append(out, m.info())
		}
		return enc.Encode(ProcessReply{Processes: out})
	}
	if req.Op == "start" {
		if len(req.Command) == 0 || req.Command[0] == "" {
			return procErrorf("invalid", "command must name a program to run, e.g. [\"python3\", \"-m\", \"http.server\"]")
		}
		m, err := a.startProcess(a.processCommand(s, req), s.User())
		if err != nil {
			return err
		}
		in := m.info()
		return enc.Encode(ProcessReply{Process: &in})
	}
	m, err := a.procs.get(req.PID)
	if err != nil {
		return err
	}
	switch req.Op {
	case "get":
	case "read":
		r, err := m.stream(req.Stream)
		if err != nil {
			return err
		}
		limit := req.Limit
		if limit <= 0 || limit > ProcessRingBytes {
			limit = ProcessRingBytes
		}
		c, _ := r.read(req.Offset, limit)
		return enc.Encode(ProcessReply{Chunk: chunkOf(req.Stream, req.Offset, c)})
	case "follow":
		return a.follow(s, enc, m, req)
	case "stdin":
		if err := m.writeStdin(req.Data, req.Close); err != nil {
			return err
		}
	case "signal":
		sig, ok := proc.ParseSignal(req.Signal)
		if !ok {
			return procErrorf("invalid", "unknown signal %q; use a name such as TERM, INT, HUP, KILL, USR1", req.Signal)
		}
		m.p.SignalGroup(sig)
	case "kill":
		m.p.SignalGroup(syscall.SIGKILL)
		waitFor(s, m, time.Duration(req.TimeoutMS)*time.Millisecond)
	case "wait":
		waitFor(s, m, time.Duration(req.TimeoutMS)*time.Millisecond)
	default:
		return procErrorf("invalid", "unknown op %q", req.Op)
	}
	in := m.info()
	return enc.Encode(ProcessReply{Process: &in})
}

// processCommand builds a start request's command as an exec's: the
// session's account, its environment plus env, cwd from the home.
func (a *Agent) processCommand(s ssh.Session, req *ProcessRequest) command {
	acct := lookupAccount(s.User())
	shell := acct.shellPath()
	client := s.Environ()
	for k, v := range req.Env {
		client = append(client, k+"="+v)
	}
	if req.Cwd != "" {
		client = append(client, CwdEnv+"="+req.Cwd)
	}
	env, dir := sessionEnv(acct, shell, a.sandboxEnv(), client, "")
	c := command{path: shell, argv: []string{filepath.Base(shell)}, env: env, dir: dir, cred: acct.credential(), acct: acct}
	c.direct = req.Command
	return c
}

func (m *managed) stream(name string) (*ring, error) {
	switch name {
	case "stdout":
		return m.out, nil
	case "stderr":
		return m.err, nil
	}
	return nil, procErrorf("invalid", "stream must be stdout or stderr, not %q", name)
}

func chunkOf(stream string, asked int64, c chunk) *ProcessChunk {
	pc := &ProcessChunk{Stream: stream, Offset: c.offset, Data: c.data, End: c.end, EOF: c.eof}
	if asked >= 0 && c.offset > asked {
		pc.Dropped = c.offset - asked
	}
	return pc
}

// follow sends both streams' output from the offsets asked as it comes,
// then the process once it exited and both streams ended. It stops when
// the client closes the channel.
func (a *Agent) follow(s ssh.Session, enc *json.Encoder, m *managed, req *ProcessRequest) error {
	rings := [2]*ring{m.out, m.err}
	names := [2]string{"stdout", "stderr"}
	offs := [2]int64{req.StdoutOffset, req.StderrOffset}
	asked := offs
	for i, r := range rings {
		if offs[i] < 0 {
			_, offs[i] = r.bounds()
			asked[i] = offs[i]
		}
	}
	var eof [2]bool
	for {
		var waits [2]<-chan struct{}
		for i, r := range rings {
			if eof[i] {
				continue
			}
			c, changed := r.read(offs[i], followChunk)
			waits[i] = changed
			if len(c.data) > 0 || c.eof || c.offset != asked[i] {
				if err := enc.Encode(ProcessReply{Chunk: chunkOf(names[i], asked[i], c)}); err != nil {
					return nil // the client is gone
				}
			}
			offs[i] = c.offset + int64(len(c.data))
			asked[i] = offs[i]
			eof[i] = c.eof
			if len(c.data) > 0 {
				waits[i] = nil // more may be there already: read again at once
			}
		}
		if eof[0] && eof[1] {
			in := m.info()
			return enc.Encode(ProcessReply{Process: &in})
		}
		if waits[0] == nil && !eof[0] || waits[1] == nil && !eof[1] {
			continue
		}
		select {
		case <-waits[0]:
		case <-waits[1]:
		case <-closedOf(s):
			return nil
		}
	}
}

// waitFor waits until m exited, timeout passed (0: no limit) or the client
// closed the channel.
func waitFor(s ssh.Session, m *managed, timeout time.Duration) {
	var t <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		t = tm.C
	}
	select {
	case <-m.done:
	case <-t:
	case <-closedOf(s):
	}
}

// followChunk is the most bytes of one follow line: base64 in JSON, it
// stays under the 32 KiB a WebSocket client reads by default once the
// server relays it.
const followChunk = 16 << 10
