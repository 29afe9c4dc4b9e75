package codepod

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/codepod-dev/codepod/client"
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

// execRequest is the body of POST /sandboxes/{id}/exec (and the first
// message of the exec stream).
func execRequest(argv []string, o *ExecOptions) client.ExecRequest {
	r := client.ExecRequest{Command: &argv}
	if o == nil {
		return r
	}
	r.Env = mapIf(o.Env)
	r.Cwd = ptrIf(o.Cwd)
	if len(o.Stdin) > 0 {
		r.StdinBase64 = ptrIf(base64.StdEncoding.EncodeToString(o.Stdin))
	}
	if o.Timeout > 0 {
		secs := int64((o.Timeout + time.Second - 1) / time.Second)
		r.TimeoutSeconds = &secs
	}
	if o.MaxOutputBytes > 0 {
		n := int64(o.MaxOutputBytes)
		r.MaxOutputBytes = &n
	}
	return r
}

// Exec runs argv in the sandbox, waits for it to end and returns its exit
// status and output. A command that fails or times out is not an error:
// look at the result's ExitCode and TimedOut. Errors are for a command that
// could not run (ErrNotFound: no such sandbox; ErrConflict: it is not
// running; ErrInvalid: a bad option).
func (s *Sandbox) Exec(ctx context.Context, argv []string, opts *ExecOptions) (*ExecResult, error) {
	r, err := decode[client.ExecResponse](s.c.check(s.c.api.ExecSandbox(ctx, s.id, execRequest(argv, opts))))
	if err != nil {
		return nil, err
	}
	res := &ExecResult{
		ExitStatus: ExitStatus{ExitCode: int(r.ExitCode), Signal: r.Signal, TimedOut: r.TimedOut,
			Duration: time.Duration(r.DurationMs) * time.Millisecond},
		StdoutTruncated: r.StdoutTruncated, StderrTruncated: r.StderrTruncated,
	}
	if res.Stdout, err = decodeOutput(r.Stdout, string(r.StdoutEncoding)); err != nil {
		return nil, err
	}
	if res.Stderr, err = decodeOutput(r.Stderr, string(r.StderrEncoding)); err != nil {
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
