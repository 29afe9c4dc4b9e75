package codepod

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"
)

// ExecOptions tune a command. The zero value runs it in the user's home
// with the sandbox's environment, no stdin and the server's 60 s timeout.
type ExecOptions struct {
	Env   map[string]string // added to the sandbox's environment
	Cwd   string            // working directory; "" is the user's home
	Stdin []byte            // written to the command's standard input
	// Timeout kills the command's process group (SIGKILL) when it passes;
	// the result then has TimedOut set. 0 means the server's default (60
	// s); at most one hour.
	Timeout time.Duration
	// MaxOutputBytes caps each of stdout and stderr (Exec only; default 1
	// MiB, at most 16 MiB); output beyond it is dropped and the result's
	// *Truncated flag set.
	MaxOutputBytes int
}

// ExitStatus is how a command ended.
type ExitStatus struct {
	ExitCode int    // 128+N when killed by signal N
	Signal   string // "" or the signal's name without SIG, e.g. "KILL"
	TimedOut bool   // the timeout fired (then Signal is "KILL")
	Duration time.Duration
}

// ExecResult is a finished command and what it wrote.
type ExecResult struct {
	ExitStatus
	// Stdout and Stderr are the bytes the command wrote, as Go strings
	// (which hold any bytes, UTF-8 or not).
	Stdout, Stderr                   string
	StdoutTruncated, StderrTruncated bool
}

// Shell returns the argv that runs script with sh -c, for Exec and
// ExecStream: sb.Exec(ctx, codepod.Shell("ls | wc -l"), nil).
func Shell(script string) []string { return []string{"sh", "-c", script} }

// execRequest is the body of POST /sandboxes/{id}/exec.
type execRequest struct {
	Command        []string          `json:"command"`
	Env            map[string]string `json:"env,omitempty"`
	Cwd            string            `json:"cwd,omitempty"`
	StdinBase64    string            `json:"stdin_base64,omitempty"`
	TimeoutSeconds int64             `json:"timeout_seconds,omitempty"`
	MaxOutputBytes int               `json:"max_output_bytes,omitempty"`
}

func newExecRequest(argv []string, o *ExecOptions) execRequest {
	r := execRequest{Command: argv}
	if o == nil {
		return r
	}
	r.Env, r.Cwd, r.MaxOutputBytes = o.Env, o.Cwd, o.MaxOutputBytes
	if len(o.Stdin) > 0 {
		r.StdinBase64 = base64.StdEncoding.EncodeToString(o.Stdin)
	}
	if o.Timeout > 0 {
		r.TimeoutSeconds = int64((o.Timeout + time.Second - 1) / time.Second)
	}
	return r
}

// execResponse is the answer of POST /sandboxes/{id}/exec.
type execResponse struct {
	ExitCode        int    `json:"exit_code"`
	Signal          string `json:"signal"`
	TimedOut        bool   `json:"timed_out"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutEncoding  string `json:"stdout_encoding"`
	StderrEncoding  string `json:"stderr_encoding"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StderrTruncated bool   `json:"stderr_truncated"`
	DurationMs      int64  `json:"duration_ms"`
}

// Exec runs argv in the sandbox, waits for it to end and returns its exit
// status and output. A command that fails or times out is not an error:
// look at the result's ExitCode and TimedOut. Errors are for a command
// that could not run (ErrNotFound: no such sandbox; ErrConflict: it is not
// running; ErrInvalid: a bad option).
func (s *Sandbox) Exec(ctx context.Context, argv []string, opts *ExecOptions) (*ExecResult, error) {
	r, err := decode[execResponse](s.c.requestJSON(ctx, "POST", s.sandboxPath("/exec"), newExecRequest(argv, opts)))
	if err != nil {
		return nil, err
	}
	res := &ExecResult{
		ExitStatus: ExitStatus{ExitCode: r.ExitCode, Signal: r.Signal, TimedOut: r.TimedOut,
			Duration: time.Duration(r.DurationMs) * time.Millisecond},
		StdoutTruncated: r.StdoutTruncated, StderrTruncated: r.StderrTruncated,
	}
	if res.Stdout, err = decodeOutput(r.Stdout, r.StdoutEncoding); err != nil {
		return nil, err
	}
	if res.Stderr, err = decodeOutput(r.Stderr, r.StderrEncoding); err != nil {
		return nil, err
	}
	return res, nil
}

// decodeOutput undoes the base64 the server uses for output that is not
// UTF-8.
func decodeOutput(s, encoding string) (string, error) {
	if encoding != "base64" {
		return s, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("codepod: decode command output: %w", err)
	}
	return string(b), nil
}
