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

// maxExecBody bounds an exec request: stdin travels in it.
const maxExecBody = 32 << 20

// ExecRequest runs one command in a sandbox.
type ExecRequest struct {
	Command        []string          `json:"command,omitempty" maxItems:"65536" doc:"The argv, e.g. [\"python3\", \"-c\", \"print(6*7)\"]. Give command or shell, not both."`
	Shell          string            `json:"shell,omitempty" doc:"A shell script, run as [\"sh\", \"-c\", shell]. Give command or shell, not both."`
	Env            map[string]string `json:"env,omitempty" doc:"Extra environment variables."`
	Cwd            string            `json:"cwd,omitempty" maxLength:"4096" doc:"Working directory; empty: the user's home; relative: from the home."`
	Stdin          string            `json:"stdin,omitempty" doc:"Standard input as UTF-8 text. Give stdin or stdin_base64, not both."`
	StdinBase64    string            `json:"stdin_base64,omitempty" doc:"Binary standard input, base64 (standard encoding)."`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty" minimum:"1" maximum:"3600" doc:"The command's process group is killed (SIGKILL) after this many seconds; default 60."`
	MaxOutputBytes int               `json:"max_output_bytes,omitempty" minimum:"1" maximum:"16777216" doc:"Most bytes kept per stream (default 1 MiB); the rest is dropped and *_truncated set. Ignored by the streaming variant."`
}

// ExecResponse is how the command ended and what it wrote.
type ExecResponse struct {
	ExitCode        int    `json:"exit_code" doc:"The exit status; 128+N when signal N killed the command."`
	Signal          string `json:"signal" doc:"Name of the signal that killed the command, without SIG (KILL, TERM); empty otherwise."`
	TimedOut        bool   `json:"timed_out" doc:"The timeout fired (the signal is then KILL)."`
	Stdout          string `json:"stdout" doc:"Standard output, as stdout_encoding says."`
	Stderr          string `json:"stderr" doc:"Standard error, as stderr_encoding says."`
	StdoutEncoding  string `json:"stdout_encoding" enum:"utf-8,base64" doc:"utf-8 when the output is valid UTF-8 text, else base64."`
	StderrEncoding  string `json:"stderr_encoding" enum:"utf-8,base64"`
	StdoutTruncated bool   `json:"stdout_truncated" doc:"Output beyond max_output_bytes was dropped."`
	StderrTruncated bool   `json:"stderr_truncated"`
	DurationMS      int64  `json:"duration_ms" doc:"Wall time of the command, in milliseconds."`
}

type execInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body ExecRequest
}

type execOutput struct {
	Body ExecResponse
}

func registerExec(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/exec", "exec-sandbox", "exec",
		"Run a command", http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
	op.MaxBodyBytes = maxExecBody
	register(api, s, describe(op, "Runs a command in the running sandbox and answers when it has ended, with its exit code and output. "+
		"A failing command is a 200 answer with its exit_code; errors are for commands that could not run."), s.exec)
	registerExecStream(api, s)
}

func (s *Server) exec(ctx context.Context, in *execInput) (*execOutput, error) {
	clearWriteDeadline(ctx)
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	req, err := in.Body.gateway(true)
	if err != nil {
		return nil, err
	}
	ctx, release, err := s.openSession(ctx, gateway.SessionExec)
	if err != nil {
		return nil, err
	}
	defer release()
	var res *gateway.ExecResult
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		res, err = gateway.Exec(ctx, c, req)
		return err
	})
	if cause := revocation(ctx); cause != nil {
		return nil, cause // the key or user was revoked mid-command
	}
	if err != nil {
		return nil, err
	}
	return &execOutput{Body: newExecResponse(res)}, nil
}

// gateway checks the request and turns it into the gateway's form; stdin
// is taken only when withStdin (the streaming variant sends it later).
func (r *ExecRequest) gateway(withStdin bool) (gateway.ExecRequest, error) {
	out := gateway.ExecRequest{Command: r.Command, Env: r.Env, Cwd: r.Cwd, MaxOutputBytes: r.MaxOutputBytes,
		Timeout: time.Duration(r.TimeoutSeconds) * time.Second}
	switch {
	case len(r.Command) > 0 && r.Shell != "":
		return out, codepod.Errorf(codepod.EINVALID, "give command or shell, not both")
	case r.Shell != "":
		out.Command = []string{"sh", "-c", r.Shell}
	case len(r.Command) == 0:
		return out, codepod.Errorf(codepod.EINVALID, "command or shell is required, e.g. {\"command\": [\"ls\", \"-l\"]}")
	}
	switch {
	case r.Stdin != "" && r.StdinBase64 != "":
		return out, codepod.Errorf(codepod.EINVALID, "give stdin or stdin_base64, not both")
	case !withStdin && (r.Stdin != "" || r.StdinBase64 != ""):
		return out, codepod.Errorf(codepod.EINVALID, "a streaming exec sends stdin in stdin messages, not in the request")
	case r.StdinBase64 != "":
		b, err := base64.StdEncoding.DecodeString(r.StdinBase64)
		if err != nil {
			return out, codepod.Errorf(codepod.EINVALID, "stdin_base64 is not valid base64 (standard encoding): %v", err)
		}
		out.Stdin = b
	default:
		out.Stdin = []byte(r.Stdin)
	}
	return out, out.Validate()
}

func newExecResponse(res *gateway.ExecResult) ExecResponse {
	r := ExecResponse{ExitCode: res.ExitCode, Signal: res.Signal, TimedOut: res.TimedOut,
		StdoutTruncated: res.Stdout.Truncated, StderrTruncated: res.Stderr.Truncated,
		DurationMS: res.Duration.Milliseconds()}
	r.Stdout, r.StdoutEncoding = res.Stdout.Text()
	r.Stderr, r.StderrEncoding = res.Stderr.Text()
	return r
}
