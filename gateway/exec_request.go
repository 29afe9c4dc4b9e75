package gateway

import (
	"regexp"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
)

// Limits of an exec request, as the API contract states them.
const (
	DefaultExecTimeout = 60 * time.Second
	MaxExecTimeout     = time.Hour
	DefaultMaxOutput   = 1 << 20  // bytes per stream
	MaxOutputLimit     = 16 << 20 // bytes per stream
)

// CwdEnv is the variable the agent takes a session's working directory
// from (it is not passed on to the command).
const CwdEnv = "CODEPOD_CWD"

// ExecRequest is one command to run in a sandbox.
type ExecRequest struct {
	// Command is the argv. The agent runs it directly, without a shell
	// (it recognises the `exec 'word'…` line commandLine writes, see
	// agent/argv.go); a shell string is ["sh", "-c", s].
	Command []string
	Env     map[string]string
	// Cwd is the working directory; "" is the user's home, a relative
	// path is taken from there.
	Cwd   string
	Stdin []byte
	// Timeout kills the command's process group (SIGKILL); 0 means
	// DefaultExecTimeout.
	Timeout time.Duration
	// MaxOutputBytes caps each of stdout and stderr (Exec only); output
	// beyond it is read and dropped. 0 means DefaultMaxOutput.
	MaxOutputBytes int
	// Started, if set, is called once the exec request went out to the
	// agent (the command is on its way), before the wait for its end; it
	// must not block. The REST exec writes its audit entry from there, while
	// the command runs.
	Started func()
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the request against the contract's limits and fills the
// defaults. Errors are EINVALID *codepod.Error values naming the field.
func (r *ExecRequest) Validate() error {
	if len(r.Command) == 0 || r.Command[0] == "" {
		return codepod.Errorf(codepod.EINVALID, "command must name a program to run, e.g. [\"ls\", \"-l\"]")
	}
	for _, a := range r.Command {
		if strings.ContainsRune(a, 0) {
			return codepod.Errorf(codepod.EINVALID, "command arguments must not contain NUL bytes")
		}
	}
	for k, v := range r.Env {
		if !envNameRE.MatchString(k) {
			return codepod.Errorf(codepod.EINVALID, "environment variable name %q must match [A-Za-z_][A-Za-z0-9_]*", k)
		}
		if k == CwdEnv {
			return codepod.Errorf(codepod.EINVALID, "set the working directory with cwd, not the %s variable", CwdEnv)
		}
		if strings.ContainsRune(v, 0) {
			return codepod.Errorf(codepod.EINVALID, "environment variable %s must not contain NUL bytes", k)
		}
	}
	if strings.ContainsRune(r.Cwd, 0) {
		return codepod.Errorf(codepod.EINVALID, "cwd must not contain NUL bytes")
	}
	switch {
	case r.Timeout == 0:
		r.Timeout = DefaultExecTimeout
	case r.Timeout < 0 || r.Timeout > MaxExecTimeout:
		return codepod.Errorf(codepod.EINVALID, "timeout %s must be between 1s and %s", r.Timeout, MaxExecTimeout)
	}
	switch {
	case r.MaxOutputBytes == 0:
		r.MaxOutputBytes = DefaultMaxOutput
	case r.MaxOutputBytes < 0 || r.MaxOutputBytes > MaxOutputLimit:
		return codepod.Errorf(codepod.EINVALID, "max_output_bytes %d must be between 1 and %d", r.MaxOutputBytes, MaxOutputLimit)
	}
	return nil
}

// commandLine is the exec request's line for argv: `exec 'arg'…`. The
// agent runs such a line's argv directly, with no shell (as the shell would
// have: its words are literal); an SSH server that does not know the form
// gives it to a shell, which replaces itself with the program, so either way
// signals, exit status and process group are the program's own.
func commandLine(argv []string) string {
	var b strings.Builder
	if !strings.HasPrefix(argv[0], "-") {
		b.WriteString("exec ")
	}
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

var safeWordRE = regexp.MustCompile(`^[A-Za-z0-9_./:,+@%-]+$`)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if safeWordRE.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
