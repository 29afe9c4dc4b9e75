package agent

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent/proc"
)

// startChild runs the image's own command with the container's stdio and
// environment. It is never restarted: its exit is logged and the agent
// keeps serving, so the sandbox stays reachable to find out why.
func (a *Agent) startChild() {
	argv := a.cfg.Command
	path, err := exec.LookPath(argv[0])
	if err != nil {
		a.log.Error("image command not started", "command", argv[0], "err", err)
		return
	}
	stdout, stderr := os.Stdout, os.Stderr
	if log, err := openChildLog(a.cfg.RunDir); err != nil {
		a.log.Warn("image command output will not be in sandbox logs", "err", err)
	} else {
		if stdout, err = log.tee(os.Stdout); err == nil {
			stderr, err = log.tee(os.Stderr)
		}
		if err != nil {
			a.log.Error("image command not started", "err", err)
			return
		}
		defer stdout.Close()
		defer stderr.Close()
	}
	p, err := a.reaper.Start(path, argv, &os.ProcAttr{
		Dir:   a.cfg.CommandDir,
		Env:   os.Environ(),
		Files: []*os.File{os.Stdin, stdout, stderr},
		Sys:   &syscall.SysProcAttr{Credential: a.containerUser()},
	})
	if err != nil {
		a.log.Error("image command not started", "command", argv[0], "err", err)
		return
	}
	a.mu.Lock()
	a.child = p
	a.mu.Unlock()
	a.log.Info("image command started", "command", argv[0], "pid", p.Pid)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.log.Info("image command exited", "command", argv[0], "status", proc.Describe(p.Wait()))
	}()
}

// stopChild forwards sig to the child and waits for it to exit; when ctx
// ends first the child is killed.
func stopChild(ctx context.Context, p *proc.Process, sig syscall.Signal) {
	p.Signal(sig)
	select {
	case <-p.Done():
		return
	case <-ctx.Done():
	}
	p.Signal(syscall.SIGKILL)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
	}
}

// SignalChild forwards sig to the supervised child, if it runs.
func (a *Agent) SignalChild(sig syscall.Signal) {
	a.mu.Lock()
	p := a.child
	a.mu.Unlock()
	if p != nil {
		p.Signal(sig)
	}
}

// containerUser is the devcontainer's containerUser the image command runs
// as (nil: root, the agent's own identity).
func (a *Agent) containerUser() *syscall.Credential {
	if d := a.cfg.Devcontainer; d != nil && d.ContainerUser != "" {
		if acct, ok := readPasswd(passwdFile, d.ContainerUser); ok {
			return acct.credential()
		}
		a.log.Warn("devcontainer containerUser is not in /etc/passwd; the image command runs as root", "user", d.ContainerUser)
	}
	return nil
}
