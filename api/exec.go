package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"reflect"
	"strconv"
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
	Command        []string          `json:"command,omitempty" maxItems:"65536" doc:"The argv, e.g. [\"python3\", \"-c\", \"print(6*7)\"], run directly without a shell: arguments are passed as they are (no globbing, quoting or variable expansion), the program is looked up in the sandbox's PATH, and a missing one exits 127. Give command or shell, not both."`
	Shell          string            `json:"shell,omitempty" doc:"A shell script, run as [\"sh\", \"-c\", shell]: the only form that starts a shell (pipes, globs, $VARS). Give command or shell, not both."`
	Env            map[string]string `json:"env,omitempty" doc:"Extra environment variables."`
	Cwd            string            `json:"cwd,omitempty" maxLength:"4096" doc:"Working directory; empty: the user's home; relative: from the home."`
	Stdin          string            `json:"stdin,omitempty" doc:"Standard input as UTF-8 text. Give stdin or stdin_base64, not both."`
	StdinBase64    string            `json:"stdin_base64,omitempty" doc:"Binary standard input, base64 (standard encoding)."`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty" minimum:"1" maximum:"3600" doc:"The command's process group is killed (SIGKILL) after this many seconds; default 60."`
	MaxOutputBytes int               `json:"max_output_bytes,omitempty" minimum:"1" maximum:"16777216" doc:"Most bytes kept per stream (default 1 MiB); the rest is read and dropped, and *_truncated set. At most the server's limit (default 4 MiB; more is a 422: use the streaming variant for large output). Ignored by the streaming variant."`
}

// ExecResponse is how the command ended and what it wrote.
type ExecResponse struct {
	ExitCode        int    `json:"exit_code" doc:"The exit status; 128+N when signal N killed the command."`
	Signal          string `json:"signal" doc:"Name of the signal that killed the command, without SIG (KILL, TERM); empty otherwise."`
	TimedOut        bool   `json:"timed_out" doc:"The timeout fired (the signal is then KILL)."`
	Stdout          string `json:"stdout" doc:"Standard output, as stdout_encoding says."`
	Stderr          string `json:"stderr" doc:"Standard error, as stderr_encoding says."`
	StdoutEncoding  string `json:"stdout_encoding" enum:"utf-8,base64" doc:"utf-8 when the output is valid UTF-8 text that JSON carries in at most twice its size, else base64 (binary output, or text full of control characters such as NUL)."`
	StderrEncoding  string `json:"stderr_encoding" enum:"utf-8,base64"`
	StdoutTruncated bool   `json:"stdout_truncated" doc:"Output beyond max_output_bytes was dropped (UTF-8 text is cut at a character boundary)."`
	StderrTruncated bool   `json:"stderr_truncated"`
	DurationMS      int64  `json:"duration_ms" doc:"Wall time of the command, in milliseconds."`
}

type execInput struct {
	ID   string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body ExecRequest
}

func registerExec(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/exec", "exec-sandbox", "exec",
		"Run a command", http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
	op.MaxBodyBytes = maxExecBody
	op.Responses = map[string]*huma.Response{"200": {Description: "OK", Content: map[string]*huma.MediaType{
		"application/json": {Schema: api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[ExecResponse](), true, "")}}}}
	register(api, s, describe(op, "Runs a command in the running sandbox and answers when it has ended, with its exit code and output. "+
		"A failing command is a 200 answer with its exit_code; errors are for commands that could not run. "+
		"command is run without a shell (an exec of the argv, faster); shell runs its script with sh -c. "+
		"The server buffers a bounded amount of output for all execs at once: when it is full the answer is a 429 with Retry-After."), s.exec)
	registerExecStream(api, s)
}

func (s *Server) exec(ctx context.Context, in *execInput) (*huma.StreamResponse, error) {
	clearWriteDeadline(ctx)
	var tm execTiming
	tm.start = time.Now()
	sb, err := s.runningSandbox(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	tm.lookup = time.Since(tm.start)
	req, err := in.Body.gateway(true)
	if err != nil {
		return nil, err
	}
	release, err := s.reserveExecOutput(ctx, req.MaxOutputBytes)
	if err != nil {
		return nil, err
	}
	ctx, endSession, err := s.openSession(ctx, gateway.SessionExec)
	if err != nil {
		release()
		return nil, err
	}
	defer endSession()
	tm.admitted = time.Since(tm.start)
	audit := auditStarted(ctx)
	req.Started = audit.start // the audit entry is written while the command runs
	var res *gateway.ExecResult
	err = s.withAgent(ctx, sb, func(c *ssh.Client) error {
		tm.conn = time.Since(tm.start)
		res, err = gateway.Exec(ctx, c, req)
		return err
	})
	audit.wait()
	if cause := revocation(ctx); cause != nil {
		release()
		return nil, cause // the key or user was revoked mid-command
	}
	if err != nil {
		release()
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer release()
		hctx.SetHeader("Content-Type", "application/json")
		hctx.SetHeader("Server-Timing", tm.header(res.Timing))
		hctx.SetStatus(http.StatusOK)
		if err := writeExecResponse(hctx.BodyWriter(), res); err != nil {
			logger(ctx).Info("exec answer cut short", "sandbox_id", sb.ID, "err", err)
		}
	}}, nil
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

// execTiming is when a REST exec's steps ended, from the handler's start:
// the sandbox looked up, the exec admitted (output budget, session quota),
// the pooled connection to the agent in hand. The gateway's ExecTiming
// continues from there. The answer carries them as a Server-Timing header
// (durations in ms, each step's own share), so a client can see where an
// exec's time went: lookup, admit, conn, channel (open an SSH session
// channel), start (the agent starts the process), run (until its exit
// status), total.
type execTiming struct {
	start                  time.Time
	lookup, admitted, conn time.Duration
}

func (t execTiming) header(g gateway.ExecTiming) string {
	total := time.Since(t.start)
	steps := []struct {
		name string
		d    time.Duration
	}{
		{"lookup", t.lookup}, {"admit", t.admitted - t.lookup}, {"conn", t.conn - t.admitted},
		{"channel", g.Channel}, {"start", g.Started - g.Channel}, {"run", g.Exited - g.Started},
		{"total", total},
	}
	b := make([]byte, 0, 160)
	for i, s := range steps {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, s.name...)
		b = append(b, ";dur="...)
		b = strconv.AppendFloat(b, float64(s.d.Microseconds())/1000, 'f', 3, 64)
	}
	return string(b)
}
