package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// Background processes: started, listed, read, fed and killed through the
// sandbox's agent, which owns them (docs/processes.md). The server keeps
// nothing of them; any replica, and a restarted server, finds them again.

// maxProcessWait bounds one wait request; call it again to wait longer.
const maxProcessWait = 10 * time.Minute

// Process is a background process.
type Process struct {
	PID         int        `json:"pid" doc:"The process id inside the sandbox; the handle for the other process operations."`
	Command     []string   `json:"command" nullable:"false" doc:"The argv it runs."`
	Cwd         string     `json:"cwd"`
	User        string     `json:"user"`
	StartedAt   time.Time  `json:"started_at"`
	Status      string     `json:"status" enum:"running,exited"`
	ExitCode    *int       `json:"exit_code,omitempty" doc:"Set once it exited: the exit status, or 128+N when signal N killed it."`
	Signal      string     `json:"signal,omitempty" doc:"The signal that killed it (TERM, KILL), if one did."`
	ExitedAt    *time.Time `json:"exited_at,omitempty"`
	StdinOpen   bool       `json:"stdin_open" doc:"Its stdin still takes input (see the stdin operation)."`
	StdoutStart int64      `json:"stdout_start" doc:"The oldest stdout offset still kept: the agent keeps the last 1 MiB of each stream."`
	StdoutEnd   int64      `json:"stdout_end" doc:"Bytes written to stdout so far."`
	StderrStart int64      `json:"stderr_start"`
	StderrEnd   int64      `json:"stderr_end"`
}

func newProcess(p *gateway.Process) Process {
	out := Process{PID: p.PID, Command: p.Command, Cwd: p.Cwd, User: p.User, StartedAt: p.StartedAt, Status: p.Status,
		ExitCode: p.ExitCode, Signal: p.Signal, StdinOpen: p.StdinOpen,
		StdoutStart: p.StdoutStart, StdoutEnd: p.StdoutEnd, StderrStart: p.StderrStart, StderrEnd: p.StderrEnd}
	if out.Command == nil {
		out.Command = []string{}
	}
	if !p.ExitedAt.IsZero() {
		t := p.ExitedAt
		out.ExitedAt = &t
	}
	return out
}

// StartProcessRequest starts a background process.
type StartProcessRequest struct {
	Command []string          `json:"command,omitempty" maxItems:"65536" doc:"The argv, run without a shell (as exec-sandbox's command). Give command or shell, not both."`
	Shell   string            `json:"shell,omitempty" doc:"A shell script, run as [\"sh\", \"-c\", shell]."`
	Env     map[string]string `json:"env,omitempty" doc:"Extra environment variables."`
	Cwd     string            `json:"cwd,omitempty" maxLength:"4096" doc:"Working directory; empty: the user's home; relative: from the home."`
}

type (
	processRef struct {
		ID  string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		PID int    `path:"pid" minimum:"1" doc:"The process's pid, as start-process returned it."`
	}
	startProcessInput struct {
		ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		Body StartProcessRequest
	}
	processOutput struct {
		Body Process
	}
	listProcessesOutput struct {
		Body *List[Process]
	}
	waitProcessInput struct {
		ID             string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		PID            int    `path:"pid" minimum:"1" doc:"The process's pid, as start-process returned it."`
		TimeoutSeconds int    `query:"timeout" minimum:"0" maximum:"600" default:"30" doc:"Seconds to wait at most; the answer then shows status running. 0 answers at once."`
	}
	signalProcessInput struct {
		ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		PID  int    `path:"pid" minimum:"1" doc:"The process's pid, as start-process returned it."`
		Body struct {
			Signal string `json:"signal" maxLength:"16" doc:"A signal name without SIG: TERM, INT, HUP, KILL, USR1, ... It goes to the process's whole group."`
		}
	}
	stdinProcessInput struct {
		ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
		PID  int    `path:"pid" minimum:"1" doc:"The process's pid, as start-process returned it."`
		Body struct {
			Data       string `json:"data,omitempty" doc:"Text to write to the process's stdin."`
			DataBase64 string `json:"data_base64,omitempty" doc:"Bytes to write, base64 (standard encoding). Give data or data_base64, not both."`
			Close      bool   `json:"close,omitempty" doc:"Close stdin after writing (the process then reads end of file)."`
		}
	}
)

func registerProcesses(api huma.API, s *Server) {
	errs := []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	op := s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/processes", "start-process", "processes", "Start a background process", errs...)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Starts a command in the background and answers at once with its pid. "+
		"The process belongs to the sandbox's agent: it keeps running when the client disconnects or the server restarts, "+
		"its stdin stays open until closed (stdin-process), and the last 1 MiB of each of its stdout and stderr is kept for read-process-output and stream-process."), s.startProcess)
	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/processes", "list-processes", "processes", "List background processes", errs...)
	register(api, s, describe(op, "Lists the sandbox's background processes, running and exited, oldest first. "+
		"The agent keeps up to 64; exited ones are forgotten oldest first to make room."), s.listProcesses)
	op = s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/processes/{pid}", "get-process", "processes", "Get a background process", errs...)
	register(api, s, op, s.getProcess)
	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/processes/{pid}/wait", "wait-process", "processes", "Wait for a background process to exit", errs...)
	register(api, s, describe(op, "Answers when the process has exited (and its output is all kept), or after timeout seconds with status running."), s.waitProcess)
	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/processes/{pid}/signal", "signal-process", "processes", "Send a signal to a background process", errs...)
	register(api, s, op, s.signalProcess)
	op = s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/processes/{pid}/stdin", "stdin-process", "processes", "Write to a background process's stdin", errs...)
	register(api, s, describe(op, "Writes to the process's stdin and, with close, closes it. "+
		"A 409 says the stdin is closed, or the process has not read what was written before for 10 s."), s.stdinProcess)
	op = s.operation(userOnly, http.MethodDelete, "/sandboxes/{id}/processes/{pid}", "kill-process", "processes", "Kill a background process", errs...)
	register(api, s, describe(op, "Sends SIGKILL to the process's group and answers once it exited (at most 10 s). "+
		"The process stays listed, exited, until the agent forgets it."), s.killProcess)
	registerProcessOutput(api, s, errs)
}

// processCall runs one request on the caller's running sandbox ref.
func (s *Server) processCall(ctx context.Context, ref string, req gateway.ProcessRequest) (*gateway.ProcessReply, error) {
	sb, err := s.runningSandbox(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out *gateway.ProcessReply
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		out, err = gateway.ProcessCall(ctx, c, req)
		return err
	})
	return out, err
}

// processReply is a one-process answer.
func (s *Server) processReply(ctx context.Context, ref string, req gateway.ProcessRequest) (*processOutput, error) {
	r, err := s.processCall(ctx, ref, req)
	if err != nil {
		return nil, err
	}
	if r.Process == nil {
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox agent gave no answer about process %d; try again", req.PID)
	}
	return &processOutput{Body: newProcess(r.Process)}, nil
}

func (s *Server) startProcess(ctx context.Context, in *startProcessInput) (*processOutput, error) {
	b := in.Body
	argv := b.Command
	switch {
	case len(argv) > 0 && b.Shell != "":
		return nil, codepod.Errorf(codepod.EINVALID, "give command or shell, not both")
	case b.Shell != "":
		argv = []string{"sh", "-c", b.Shell}
	case len(argv) == 0:
		return nil, codepod.Errorf(codepod.EINVALID, "command or shell is required, e.g. {\"command\": [\"python3\", \"-m\", \"http.server\"]}")
	}
	check := gateway.ExecRequest{Command: argv, Env: b.Env, Cwd: b.Cwd}
	if err := check.Validate(); err != nil {
		return nil, err
	}
	return s.processReply(ctx, in.ID, gateway.ProcessRequest{Op: "start", Command: argv, Env: b.Env, Cwd: b.Cwd})
}

func (s *Server) listProcesses(ctx context.Context, in *sandboxRef) (*listProcessesOutput, error) {
	r, err := s.processCall(ctx, in.ID, gateway.ProcessRequest{Op: "list"})
	if err != nil {
		return nil, err
	}
	return &listProcessesOutput{Body: newList(r.Processes, "", newProcess)}, nil
}

func (s *Server) getProcess(ctx context.Context, in *processRef) (*processOutput, error) {
	return s.processReply(ctx, in.ID, gateway.ProcessRequest{Op: "get", PID: in.PID})
}

func (s *Server) waitProcess(ctx context.Context, in *waitProcessInput) (*processOutput, error) {
	clearWriteDeadline(ctx)
	ctx, release, err := s.openSession(ctx, gateway.SessionExec)
	if err != nil {
		return nil, err
	}
	defer release()
	ms := int64(in.TimeoutSeconds) * 1000
	if in.TimeoutSeconds == 0 {
		ms = 1 // the agent's 0 is "no limit"
	}
	return s.processReply(ctx, in.ID, gateway.ProcessRequest{Op: "wait", PID: in.PID, TimeoutMS: ms})
}

func (s *Server) signalProcess(ctx context.Context, in *signalProcessInput) (*processOutput, error) {
	sig, ok := gateway.ParseSignal(in.Body.Signal)
	if !ok {
		return nil, codepod.Errorf(codepod.EINVALID, "unknown signal %q; use a name such as TERM, INT, HUP, KILL, USR1", in.Body.Signal)
	}
	return s.processReply(ctx, in.ID, gateway.ProcessRequest{Op: "signal", PID: in.PID, Signal: sig})
}

func (s *Server) stdinProcess(ctx context.Context, in *stdinProcessInput) (*processOutput, error) {
	data := []byte(in.Body.Data)
	if in.Body.DataBase64 != "" {
		if in.Body.Data != "" {
			return nil, codepod.Errorf(codepod.EINVALID, "give data or data_base64, not both")
		}
		b, err := base64.StdEncoding.DecodeString(in.Body.DataBase64)
		if err != nil {
			return nil, codepod.Errorf(codepod.EINVALID, "data_base64 is not valid base64 (standard encoding): %v", err)
		}
		data = b
	}
	return s.processReply(ctx, in.ID, gateway.ProcessRequest{Op: "stdin", PID: in.PID, Data: data, Close: in.Body.Close})
}

func (s *Server) killProcess(ctx context.Context, in *processRef) (*processOutput, error) {
	return s.processReply(ctx, in.ID, gateway.ProcessRequest{Op: "kill", PID: in.PID, TimeoutMS: 10_000})
}
