// Package proc starts processes and collects their exit statuses, and, when
// the agent is PID 1 (or a child subreaper), also reaps orphans that were
// re-parented to it.
//
// A reaper that calls wait4(-1) would steal the status of a process that
// os/exec is waiting for. So this package does not use os/exec's Wait at all:
// every process is started through a Reaper, which is the only code that
// waits. In "reap all" mode one goroutine waits for any child on SIGCHLD and
// hands each status to the process that owns it (orphans are just logged); a
// lock held across fork and registration means no child can be reaped before
// it is known. Otherwise each process gets its own wait4(pid), which leaves the
// rest of the program's children alone (the mode for an agent embedded in a
// test binary).
package proc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Reaper starts processes and delivers their exit statuses.
type Reaper struct {
	all  bool
	log  *slog.Logger
	mu   sync.Mutex // held across start+register and across a reap pass
	owns map[int]*Process

	childOOM int // oom_score_adj for started processes; 0: inherited
}

// NewReaper returns a reaper. With reapAll, Run must be running for any
// status to be delivered, and no other code in the program may wait for
// children.
func NewReaper(reapAll bool, log *slog.Logger) *Reaper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reaper{all: reapAll, log: log, owns: map[int]*Process{}}
}

// Process is a started child.
type Process struct {
	Pid    int
	done   chan struct{}
	status syscall.WaitStatus
}

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the process exits and returns its status.
func (p *Process) Wait() syscall.WaitStatus {
	<-p.done
	return p.status
}

// Status is the exit status; valid once Done is closed.
func (p *Process) Status() syscall.WaitStatus { return p.status }

// SignalGroup sends sig to the process group the process leads (started
// with Setpgid or Setsid). A group that is already gone is not an error.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", p.Pid, err)
	}
	return nil
}

// Signal sends sig to the process alone.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process %d: %w", p.Pid, err)
	}
	return nil
}

// Start starts path with argv and attr (as os.StartProcess does).
func (r *Reaper) Start(path string, argv []string, attr *os.ProcAttr) (*Process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	op, err := os.StartProcess(path, argv, attr)
	if err != nil {
		return nil, err
	}
	p := &Process{Pid: op.Pid, done: make(chan struct{})}
	if r.childOOM != 0 {
		if err := SetOOMScoreAdj(p.Pid, r.childOOM); err != nil {
			r.log.Warn("cannot raise a process's oom_score_adj; it is as likely to be killed as the agent", "pid", p.Pid, "err", err)
		}
	}
	// Drop os.Process's handle (a pidfd): this package does the waiting.
	op.Release()
	if r.all {
		r.owns[p.Pid] = p
	} else {
		go waitOne(p)
	}
	return p, nil
}

func waitOne(p *Process) {
	for {
		_, err := syscall.Wait4(p.Pid, &p.status, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	close(p.done)
}

// Run reaps children until ctx ends. It does nothing unless the reaper was
// made with reapAll.
func (r *Reaper) Run(ctx context.Context) {
	if !r.all {
		return
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	defer signal.Stop(sigs)
	r.reap() // children that exited before Notify
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
			r.reap()
		}
	}
}

// reap collects every child that has exited, without blocking.
func (r *Reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has exited
		}
		if p, ok := r.owns[pid]; ok {
			delete(r.owns, pid)
			p.status = ws
			close(p.done)
			continue
		}
		r.log.Debug("reaped orphan", "pid", pid, "status", Describe(ws))
	}
}

// Describe renders a wait status for logs: "exit 3" or "signal KILL".
func Describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit %d", ws.ExitStatus())
}
