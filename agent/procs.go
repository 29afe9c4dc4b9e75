package agent

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent/proc"
)

// Background processes (see docs/agent.md, "Processes").
//
// A process started through the codepod-process subsystem belongs to the
// agent, not to the SSH session that started it: its stdin is a pipe the
// agent holds, its stdout and stderr are copied into a ring per stream,
// and it runs until it exits or is killed, whoever connects or
// disconnects meanwhile. The server holds nothing of it, so a process
// outlives the client, the pooled connection and the server itself.
const (
	// ProcessRingBytes is how much of each of a process's stdout and
	// stderr the agent keeps: the last 1 MiB.
	ProcessRingBytes = 1 << 20
	// MaxProcesses is how many processes the agent keeps at once; exited
	// ones are forgotten oldest first to make room, running ones never.
	MaxProcesses = 64
	// stdinWriteWait bounds a stdin write to a process that does not read.
	stdinWriteWait = 10 * time.Second
)

// procError is an error with one of the protocol's codes.
type procError struct{ code, msg string }

func (e *procError) Error() string { return e.msg }

func procErrorf(code, format string, args ...any) error {
	return &procError{code: code, msg: fmt.Sprintf(format, args...)}
}

// managed is one background process.
type managed struct {
	pid      int
	command  []string
	cwd      string
	user     string
	started  time.Time
	p        *proc.Process
	out, err *ring
	done     chan struct{} // closed once it exited and its output is in the rings

	mu       sync.Mutex // guards stdin and the exit fields
	stdin    *os.File   // nil once closed
	exitedAt time.Time
	status   syscall.WaitStatus
}

// ProcessInfo is a process as the protocol reports it.
type ProcessInfo struct {
	PID         int       `json:"pid"`
	Command     []string  `json:"command"`
	Cwd         string    `json:"cwd"`
	User        string    `json:"user"`
	StartedAt   time.Time `json:"started_at"`
	Status      string    `json:"status"` // running or exited
	ExitCode    *int      `json:"exit_code,omitempty"`
	Signal      string    `json:"signal,omitempty"`
	ExitedAt    time.Time `json:"exited_at,omitzero"`
	StdinOpen   bool      `json:"stdin_open"`
	StdoutStart int64     `json:"stdout_start"`
	StdoutEnd   int64     `json:"stdout_end"`
	StderrStart int64     `json:"stderr_start"`
	StderrEnd   int64     `json:"stderr_end"`
}

func (m *managed) info() ProcessInfo {
	in := ProcessInfo{PID: m.pid, Command: m.command, Cwd: m.cwd, User: m.user, StartedAt: m.started, Status: "running"}
	in.StdoutStart, in.StdoutEnd = m.out.bounds()
	in.StderrStart, in.StderrEnd = m.err.bounds()
	m.mu.Lock()
	defer m.mu.Unlock()
	in.StdinOpen = m.stdin != nil
	select {
	case <-m.done:
		in.Status, in.ExitedAt = "exited", m.exitedAt
		code := m.status.ExitStatus()
		if m.status.Signaled() {
			code = 128 + int(m.status.Signal())
			in.Signal = proc.SignalName(m.status.Signal())
		}
		in.ExitCode = &code
	default:
	}
	return in
}

// procTable holds the agent's background processes.
type procTable struct {
	mu    sync.Mutex
	procs map[int]*managed
}

func (t *procTable) get(pid int) (*managed, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.procs[pid]; m != nil {
		return m, nil
	}
	return nil, procErrorf("not_found", "no process %d in this sandbox (it never ran here, or it exited long ago and was forgotten)", pid)
}

// list returns the processes, oldest first.
func (t *procTable) list() []*managed {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*managed, 0, len(t.procs))
	for _, m := range t.procs {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].started.Before(out[j].started) })
	return out
}

// add registers m, first forgetting exited processes (oldest first) so at
// most MaxProcesses are kept. It fails when that many still run.
func (t *procTable) makeRoom() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.procs == nil {
		t.procs = map[int]*managed{}
	}
	for len(t.procs) >= MaxProcesses {
		var oldest *managed
		for _, m := range t.procs {
			select {
			case <-m.done:
				if oldest == nil || m.exitedAt.Before(oldest.exitedAt) {
					oldest = m
				}
			default:
			}
		}
		if oldest == nil {
			return procErrorf("too_many", "%d background processes already run in this sandbox; kill one first", MaxProcesses)
		}
		delete(t.procs, oldest.pid)
	}
	return nil
}

func (t *procTable) add(m *managed) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.procs[m.pid] = m // a pid the kernel reused replaces the exited process
}

// killAll kills every running process group (the agent is shutting down).
func (t *procTable) killAll() {
	for _, m := range t.list() {
		m.p.SignalGroup(syscall.SIGKILL)
	}
}

// startProcess starts c in the background as a process of the table.
func (a *Agent) startProcess(c command, user string) (*managed, error) {
	if err := a.procs.makeRoom(); err != nil {
		return nil, err
	}
	if res, ok := c.prepare(); !ok {
		return nil, procErrorf("cannot_start", "%s (exit code %d)", res.failure, res.code)
	}
	var pipes [3][2]*os.File
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(pipes)
			return nil, fmt.Errorf("pipe: %w", err)
		}
		pipes[i] = [2]*os.File{r, w}
	}
	p, err := a.start(c, &os.ProcAttr{
		Dir: c.dir, Env: c.env,
		Files: []*os.File{pipes[0][0], pipes[1][1], pipes[2][1]},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: c.cred},
	})
	pipes[0][0].Close()
	pipes[1][1].Close()
	pipes[2][1].Close()
	if err != nil {
		pipes[0][1].Close()
		pipes[1][0].Close()
		pipes[2][0].Close()
		res := startFailed(c, err)
		return nil, procErrorf("cannot_start", "%s (exit code %d)", res.failure, res.code)
	}
	m := &managed{pid: p.Pid, command: c.argv, cwd: c.dir, user: user, started: time.Now().UTC(), p: p,
		out: newRing(ProcessRingBytes), err: newRing(ProcessRingBytes), done: make(chan struct{}), stdin: pipes[0][1]}
	a.procs.add(m)
	a.wg.Add(1) // Shutdown kills the process group, then waits for this
	go func() { defer a.wg.Done(); a.superviseProcess(m, pipes[1][0], pipes[2][0]) }()
	a.log.Info("process start", "pid", m.pid, "user", user, "command", c.argv[0])
	return m, nil
}

// superviseProcess copies m's output into its rings and records its exit.
func (a *Agent) superviseProcess(m *managed, stdout, stderr *os.File) {
	out := &drainer{f: stdout, grace: a.cfg.OutputGrace}
	errs := &drainer{f: stderr, grace: a.cfg.OutputGrace}
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); out.copyTo(m.out) }()
	go func() { defer copying.Done(); errs.copyTo(m.err) }()
	<-m.p.Done()
	out.finish()
	errs.finish()
	copying.Wait()
	stdout.Close()
	stderr.Close()
	m.mu.Lock()
	m.status, m.exitedAt = m.p.Status(), time.Now().UTC()
	if m.stdin != nil {
		m.stdin.Close()
		m.stdin = nil
	}
	close(m.done)
	m.mu.Unlock()
	m.out.close()
	m.err.close()
	a.log.Info("process exit", "pid", m.pid, "status", proc.Describe(m.status))
}

// writeStdin writes p to m's stdin and closes it after when closeAfter.
func (m *managed) writeStdin(p []byte, closeAfter bool) error {
	m.mu.Lock()
	f := m.stdin
	m.mu.Unlock()
	if f == nil {
		if len(p) == 0 && closeAfter {
			return nil
		}
		return procErrorf("stdin_closed", "the stdin of process %d is closed (it was closed, or the process exited)", m.pid)
	}
	if len(p) > 0 {
		f.SetWriteDeadline(time.Now().Add(stdinWriteWait))
		if _, err := f.Write(p); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return procErrorf("stdin_full", "process %d does not read its stdin (nothing taken in %s); try again later", m.pid, stdinWriteWait)
			}
			return procErrorf("stdin_closed", "process %d no longer reads its stdin: %v", m.pid, unwrapPath(err))
		}
	}
	if closeAfter {
		m.mu.Lock()
		if m.stdin != nil {
			m.stdin.Close()
			m.stdin = nil
		}
		m.mu.Unlock()
	}
	return nil
}
