package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent/proc"
	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// command is what a session runs.
type command struct {
	path string
	argv []string
	env  []string
	dir  string
	cred *syscall.Credential
	acct account
	// direct is the argv of an exec request run without a shell (see
	// argv.go); path and argv are filled from it by prepare.
	direct []string
}

// result is how a session's command ended.
type result struct {
	status syscall.WaitStatus
	// failure is set when the command could not start; it is printed on
	// stderr and the session exits with code.
	failure string
	code    int
	// hangup: the client closed the session first; nothing is reported.
	hangup bool
}

// handleSession runs an exec or shell request: the command through the
// user's shell (`shell -c CMD`) — or, for a line that only execs an argv,
// that argv without a shell (argv.go) — or a login shell when there is no
// command,
// under a PTY if the client asked for one, and reports its exit.
func (a *Agent) handleSession(s ssh.Session) {
	if !a.track() {
		fmt.Fprintln(s.Stderr(), "codepod-agent: shutting down")
		s.Exit(255)
		return
	}
	defer a.wg.Done()
	ptyReq, winCh, isPty := s.Pty()
	c, kind := a.sessionCommand(s, ptyReq.Term, isPty)
	log := a.log.With("session", a.sessionName(s), "user", s.User(), "kind", kind, "pty", isPty)
	log.Info("session start", "uid", c.acct.uid, "cwd", c.dir)
	start := time.Now()
	res, ok := c.prepare()
	switch {
	case !ok:
	case isPty:
		a.postAttach()
		detach := a.attach()
		res = a.runPTY(s, c, ptyReq.Window, winCh)
		detach()
	default:
		res = a.runPipes(s, c)
	}
	report(s, res)
	log.Info("session end", "status", res.describe(), "duration_ms", time.Since(start).Milliseconds())
}

// sessionCommand resolves account, shell, environment and directory.
func (a *Agent) sessionCommand(s ssh.Session, term string, isPty bool) (command, string) {
	acct := a.sessionAccount(s.User())
	shell := acct.shellPath()
	if isPty && term == "" {
		term = "xterm"
	} else if !isPty {
		term = ""
	}
	env, dir := a.sessionEnvFor(acct, shell, s.Environ(), term)
	c := command{path: shell, env: env, dir: dir, cred: acct.credential(), acct: acct}
	name := filepath.Base(shell)
	if raw := s.RawCommand(); raw != "" {
		c.argv = []string{name, "-c", raw}
		if argv, ok := directArgv(raw); ok {
			c.direct = argv
			return c, "exec-argv"
		}
		return c, "exec"
	}
	c.argv = []string{name, "-l"}
	return c, "shell"
}

// prepare checks the working directory and finds a direct argv's
// program; when either fails it returns the result to report instead.
func (c *command) prepare() (result, bool) {
	if res, ok := checkDir(c.dir); !ok {
		return res, false
	}
	if c.direct != nil {
		return c.resolveDirect(c.direct)
	}
	return result{}, true
}

// start starts c. A direct argv naming a file the kernel cannot run
// (ENOEXEC: a script without #!) is run by the shell as a script, as
// execvp(3) and shells do.
func (a *Agent) start(c command, attr *os.ProcAttr) (*proc.Process, error) {
	p, err := a.reaper.Start(c.path, c.argv, attr)
	if c.direct != nil && errors.Is(err, syscall.ENOEXEC) {
		sh := defaultShell()
		return a.reaper.Start(sh, append([]string{filepath.Base(sh), c.path}, c.argv[1:]...), attr)
	}
	return p, err
}

// sessionName is a short id for logs: connection id prefix and a counter.
func (a *Agent) sessionName(s ssh.Session) string {
	id := s.Context().SessionID()
	if len(id) > 8 {
		id = id[:8]
	}
	return fmt.Sprintf("%s-%d", id, a.seq.Add(1))
}

// report sends the exit status, or exit-signal for a command a signal
// killed (RFC 4254 6.10), and closes the channel.
func report(s ssh.Session, res result) {
	switch {
	case res.hangup:
		s.Close()
	case res.failure != "":
		fmt.Fprintln(s.Stderr(), res.failure)
		s.CloseWrite()
		s.Exit(res.code)
	case res.status.Signaled():
		s.CloseWrite()
		msg := struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: proc.SignalName(res.status.Signal()), CoreDumped: res.status.CoreDump()}
		s.SendRequest("exit-signal", false, gossh.Marshal(&msg))
		s.Close()
	default:
		s.CloseWrite()
		s.Exit(res.status.ExitStatus())
	}
}

func (r result) describe() string {
	switch {
	case r.hangup:
		return "hangup"
	case r.failure != "":
		return fmt.Sprintf("exit %d (%s)", r.code, r.failure)
	}
	return proc.Describe(r.status)
}
