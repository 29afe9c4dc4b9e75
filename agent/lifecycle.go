package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/codepod-dev/codepod/agent/proc"
)

// LifecycleRequest is the SSH global request that reports the
// devcontainer lifecycle's progress. Its payload is the JSON of the last
// LifecycleStatus the caller saw (or empty); the reply comes when the
// status differs from it (a long poll), as JSON.
const LifecycleRequest = "lifecycle@codepod.dev"

// DevcontainerFile, in the etc directory, holds the sandbox's
// Devcontainer as JSON (written by the runner).
const DevcontainerFile = "devcontainer.json"

// createdMarker, in Config.StateDir, records that the create-time hooks
// (onCreateCommand, updateContentCommand, postCreateCommand) succeeded: a
// restarted container runs only postStartCommand.
const createdMarker = "devcontainer-created"

// LifecycleStatus is where the devcontainer lifecycle is.
type LifecycleStatus struct {
	Seq     int    `json:"seq"`               // counts changes
	Running string `json:"running,omitempty"` // the hook running now
	Done    bool   `json:"done"`              // every create/start hook finished
	Ready   bool   `json:"ready"`             // the waitFor hook finished: later ones run in the background
	Failed  string `json:"failed,omitempty"`  // why a hook failed: the command and its last output
	Last    string `json:"last,omitempty"`    // the last line of output
	// Shutdown, when set, asks the runner to stop the sandbox, saying why
	// (shutdownAction stopContainer and the last terminal session closed).
	Shutdown string `json:"shutdown,omitempty"`
}

// lifecycle holds the status and wakes those waiting on it.
type lifecycle struct {
	mu      sync.Mutex
	st      LifecycleStatus
	changed chan struct{}
	tail    tail
}

func newLifecycle() *lifecycle { return &lifecycle{changed: make(chan struct{})} }

func (l *lifecycle) update(f func(*LifecycleStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.st)
	l.st.Seq++
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait returns the status once its Seq differs from seen, or ctx ends.
func (l *lifecycle) wait(ctx context.Context, seen int) (LifecycleStatus, error) {
	for {
		l.mu.Lock()
		st, ch := l.st, l.changed
		if l.tail.last() != "" {
			st.Last = l.tail.last()
		}
		l.mu.Unlock()
		if st.Seq != seen {
			return st, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// runLifecycle runs the create-time hooks unless a previous start did,
// then postStartCommand, writing their output to the sandbox's log.
func (a *Agent) runLifecycle() {
	d, l := a.cfg.Devcontainer, a.lc
	out := a.hookOutput()
	marker := filepath.Join(a.cfg.StateDir, createdMarker)
	hooks := d.startHooks()
	if _, err := os.Stat(marker); err != nil {
		hooks = append(d.createHooks(), hooks...)
	}
	ready := func(after int) {
		l.mu.Lock()
		was := l.st.Ready
		l.mu.Unlock()
		if was || after < d.waitForOrder() {
			return
		}
		fmt.Fprintf(out, "[devcontainer] ready (waitFor %s done); later hooks go on in the background\n", d.waitForName())
		l.update(func(s *LifecycleStatus) { s.Ready = true })
	}
	// A restart skips the create hooks: one of them as waitFor is done.
	ready(hookOrder[hooks[0].name] - 1)
	for _, h := range hooks {
		if a.hooksCtx.Err() != nil {
			continue
		}
		if h.cmd == nil {
			ready(hookOrder[h.name])
			continue
		}
		l.update(func(s *LifecycleStatus) { s.Running = h.name })
		if err := a.runHook(h, out); err != nil {
			if a.hooksCtx.Err() != nil {
				return // killed by a shutdown (a stop): not a failure of the hook
			}
			fmt.Fprintf(out, "[devcontainer] %s failed: %v\n", h.name, err)
			reason := fmt.Sprintf("devcontainer %s %s failed: %v", h.name, h.cmd, err)
			if t := l.tail.String(); t != "" {
				reason += "; last output:\n" + t
			}
			l.update(func(s *LifecycleStatus) { s.Running, s.Failed = "", reason })
			return
		}
		if h.name == "postCreateCommand" {
			a.markCreated(marker)
		}
		ready(hookOrder[h.name])
	}
	if a.hooksCtx.Err() != nil {
		return // shutting down: the next start runs what did not run
	}
	a.markCreated(marker) // also when postCreateCommand is absent
	l.update(func(s *LifecycleStatus) { s.Running, s.Done, s.Ready = "", true, true })
}

func (a *Agent) markCreated(marker string) {
	if err := os.MkdirAll(filepath.Dir(marker), 0o755); err == nil {
		err = os.WriteFile(marker, nil, 0o644)
		if err != nil {
			a.log.Warn("devcontainer: cannot record that the create hooks ran", "err", err)
		}
	}
}

// hookOutput is where hooks write: the sandbox log (main.log), the
// container's stdout and the lifecycle's tail.
func (a *Agent) hookOutput() io.Writer {
	ws := []io.Writer{os.Stdout, &a.lc.tail}
	if log, err := openChildLog(a.cfg.RunDir); err == nil {
		ws = append(ws, log)
	} else {
		a.log.Warn("devcontainer hook output will not be in sandbox logs", "err", err)
	}
	return &lockedWriter{w: io.MultiWriter(ws...)}
}

// runHook runs one lifecycle command; a parallel one runs every entry at
// once and fails when any fails.
func (a *Agent) runHook(h hook, out io.Writer) error {
	fmt.Fprintf(out, "[devcontainer] running %s: %s\n", h.name, h.cmd)
	if h.cmd.Parallel == nil {
		return a.runArgv(h.cmd.Argv(), out)
	}
	names := h.cmd.Names()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.runArgv(h.cmd.Parallel[name].Argv(), out); err != nil {
				errs[i] = fmt.Errorf("%q: %w", name, err)
			}
		}()
	}
	wg.Wait()
	var failed []string
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
}

// runArgv runs argv as the session user, in the workspace folder, with
// remoteEnv, and waits for it (not for daemons it leaves behind).
func (a *Agent) runArgv(argv []string, out io.Writer) error {
	acct := a.sessionAccount("root")
	env, dir := a.sessionEnvFor(acct, acct.shellPath(), nil, "")
	pathEnv := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	path, err := lookPath(argv[0], pathEnv, dir)
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	// stdin is /dev/null, never a closed descriptor: a daemon a hook
	// starts would otherwise find its first socket at fd 0.
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	p, err := a.reaper.Start(path, argv, &os.ProcAttr{
		Dir: dir, Env: env, Files: []*os.File{null, w, w},
		Sys: &syscall.SysProcAttr{Setpgid: true, Credential: acct.credential()},
	})
	w.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	d := &drainer{f: r, grace: a.cfg.OutputGrace}
	copied := make(chan struct{})
	go func() { defer close(copied); d.copyTo(out) }()
	select {
	case <-p.Done():
	case <-a.hooksCtx.Done(): // the agent is shutting down: hooks do not hold it up
		p.SignalGroup(syscall.SIGKILL)
		<-p.Done()
	}
	st := p.Status()
	d.finish()
	<-copied
	if !st.Exited() || st.ExitStatus() != 0 {
		return fmt.Errorf("%s", proc.Describe(st))
	}
	return nil
}

// postAttach runs postAttachCommand in the background when a terminal
// session starts (CodePod's "attach"), once the lifecycle is done.
func (a *Agent) postAttach() {
	d := a.cfg.Devcontainer
	if d == nil || d.PostAttachCommand == nil || !a.track() {
		return
	}
	go func() {
		defer a.wg.Done()
		if _, err := a.lc.waitDone(a.hooksCtx); err != nil {
			return
		}
		out := a.hookOutput()
		if err := a.runHook(hook{name: "postAttachCommand", cmd: d.PostAttachCommand}, out); err != nil {
			fmt.Fprintf(out, "[devcontainer] postAttachCommand failed: %v\n", err)
		}
	}()
}

// ShutdownReason is LifecycleStatus.Shutdown when the last terminal
// session of a sandbox with shutdownAction stopContainer closed.
const ShutdownReason = "devcontainer shutdownAction stopContainer: the last terminal session closed"

// attach counts a terminal session in (CodePod's "attach"); the function
// it returns counts it out. When the last one closes and shutdownAction is
// stopContainer, the status asks the runner to stop the sandbox; a new
// terminal meanwhile withdraws the request.
func (a *Agent) attach() (detach func()) {
	d := a.cfg.Devcontainer
	if d == nil || d.ShutdownAction != "stopContainer" {
		return func() {}
	}
	a.mu.Lock()
	a.attached++
	a.mu.Unlock()
	a.lc.update(func(st *LifecycleStatus) { st.Shutdown = "" })
	return func() {
		a.mu.Lock()
		a.attached--
		last := a.attached == 0
		a.mu.Unlock()
		if last {
			a.log.Info("last terminal session closed: asking the runner to stop the sandbox (shutdownAction stopContainer)")
			a.lc.update(func(st *LifecycleStatus) { st.Shutdown = ShutdownReason })
		}
	}
}

// waitDone waits until the lifecycle finished (or failed).
func (l *lifecycle) waitDone(ctx context.Context) (LifecycleStatus, error) {
	seen := -1
	for {
		st, err := l.wait(ctx, seen)
		if err != nil || st.Done || st.Failed != "" {
			return st, err
		}
		seen = st.Seq
	}
}

// LifecycleJSON is the status as the LifecycleRequest answers it.
func (s LifecycleStatus) JSON() []byte {
	b, _ := json.Marshal(s)
	return b
}

// lockedWriter serializes the writes of parallel hooks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// tail keeps the last lines of hook output for a failure's reason.
type tail struct {
	mu    sync.Mutex
	lines []string
	part  string
}

const tailLines = 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(b)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	if len(t.part) > 512 {
		t.part = t.part[len(t.part)-512:]
	}
	for _, line := range parts[:len(parts)-1] {
		if len(line) > 512 {
			line = line[:512]
		}
		t.lines = append(t.lines, line)
	}
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := append([]string(nil), t.lines...)
	if t.part != "" {
		lines = append(lines, t.part)
	}
	return strings.Join(lines, "\n")
}

func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.part != "" {
		return t.part
	}
	if len(t.lines) > 0 {
		return t.lines[len(t.lines)-1]
	}
	return ""
}

// sortedEnv is m as sorted KEY=VALUE pairs.
func sortedEnv(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
