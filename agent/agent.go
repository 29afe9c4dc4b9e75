package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/agent/kernel"
	"github.com/codepod-dev/codepod/agent/proc"
	"github.com/gliderlabs/ssh"
)

// Defaults of the layout the runner sets up (see docs/agent.md and
// docs/security-channel.md).
const (
	DefaultEtcDir = "/.codepod/etc"
	// DefaultRunDir is a size-limited tmpfs inside the container: the agent
	// keeps main.log there. Nothing of it is on the runner's host.
	DefaultRunDir = "/.codepod/run"
	// DefaultStateDir is in the container's own file system: it lives as
	// long as the container.
	DefaultStateDir = "/.codepod/state"
	// Port is the TCP port the agent listens on at 127.0.0.1 inside the
	// sandbox's network namespace. The runner reaches it by entering that
	// namespace (runner/docker's DialAgent); it is never published. It is
	// high and fixed so a sandbox's own servers rarely want it.
	Port = 49983
)

// DefaultListenTCP is where the agent listens unless told otherwise.
var DefaultListenTCP = fmt.Sprintf("127.0.0.1:%d", Port)

// Config says where the agent finds its keys, where it listens and what it
// supervises. The zero value, after defaults, is the in-container layout.
type Config struct {
	// EtcDir holds host_key, ssh_secret, authorized_keys and sandbox_id.
	EtcDir string
	// SocketPath, if set, is a Unix socket to listen on; a stale one is
	// removed. The runner does not use one (a socket in a directory the
	// tenant can write is a path the host must never follow); tests do.
	SocketPath string
	// ListenTCP, if set, is a TCP address to listen on. With neither
	// SocketPath nor ListenTCP the agent listens on DefaultListenTCP.
	ListenTCP string
	// Listener, when set, is served instead of listening anew: the socket
	// a taking-over agent inherits (handover.go). Such an agent starts no
	// Command and runs no lifecycle hooks: the agent it replaces did.
	Listener net.Listener
	// Version is the agent's build version, announced in its SSH banner
	// (Banner); default "dev". The binary sets it from its link-time
	// version.
	Version string
	// AgentsDir is the only directory an upgrade may take a new agent
	// binary from (default DefaultAgentsDir, a read-only bind).
	AgentsDir string
	// RunDir keeps main.log, the image command's output. Default: the
	// socket's directory when SocketPath is set, else DefaultRunDir.
	RunDir string
	// Command is the image's own entrypoint and command, run as a
	// supervised child (never restarted). Empty means none.
	Command []string
	// CommandDir is the image command's working directory ("" = the
	// agent's). The binary moves itself to root's home (see cmd/codepod-agent)
	// and hands the image's WORKDIR here.
	CommandDir string
	// ReapAll makes the agent wait for every child, including orphans
	// re-parented to it. Set it when the agent is PID 1 or a subreaper,
	// and only then: it takes over all of the process's children.
	ReapAll bool
	// ChildOOMScoreAdj, when not 0, is written to the oom_score_adj of
	// every process the agent starts (the image command, exec and terminal
	// sessions), so the kernel's OOM killer picks the workload before the
	// agent. The binary sets proc.OOMFirst.
	ChildOOMScoreAdj int
	// Devcontainer, when set, gives sessions their user, environment and
	// working directory, and the lifecycle commands the agent runs after
	// it starts (lifecycle.go). The binary reads it from
	// <EtcDir>/devcontainer.json, which the runner writes.
	Devcontainer *Devcontainer
	// StateDir keeps what must survive a restart of the container (the
	// record that the create-time hooks ran). Default DefaultStateDir.
	StateDir string
	// Logger receives one line per session and notable events.
	Logger *slog.Logger
	// KeepAliveInterval is how often an idle client is probed; after
	// KeepAliveCountMax unanswered probes the connection is closed.
	KeepAliveInterval time.Duration
	KeepAliveCountMax int
	// OutputGrace is how long the agent keeps reading a command's output
	// after the command exited while something (a background process) still
	// holds its stdout open and writes nothing.
	OutputGrace time.Duration
}

func (c *Config) setDefaults() {
	if c.EtcDir == "" {
		c.EtcDir = DefaultEtcDir
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.AgentsDir == "" {
		c.AgentsDir = DefaultAgentsDir
	}
	if c.SocketPath == "" && c.ListenTCP == "" && c.Listener == nil {
		c.ListenTCP = DefaultListenTCP
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir
		if c.SocketPath != "" {
			c.RunDir = filepath.Dir(c.SocketPath)
		}
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.KeepAliveInterval <= 0 {
		c.KeepAliveInterval = 30 * time.Second
	}
	if c.KeepAliveCountMax <= 0 {
		c.KeepAliveCountMax = 3
	}
	if c.OutputGrace <= 0 {
		c.OutputGrace = 100 * time.Millisecond
	}
}

// Agent is a running SSH server for one sandbox.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	srv    *ssh.Server
	reaper *proc.Reaper
	code   *kernel.Manager // code contexts (code.go)

	ctx    context.Context // ends when the agent is closed
	cancel context.CancelFunc
	// hooksCtx ends when Shutdown begins: lifecycle hooks still running
	// are killed rather than waited for.
	hooksCtx    context.Context
	cancelHooks context.CancelFunc

	mu      sync.Mutex
	closing bool
	tcpAddr net.Addr
	tcpLn   *net.TCPListener // handed over by an upgrade (handover.go)
	// handedOver: a new agent serves the listener; this one drains.
	handedOver bool
	drained    chan struct{}
	child      *proc.Process
	procs      procTable // background processes (procs.go)
	lc         *lifecycle
	// attached counts open terminal sessions (shutdownAction).
	attached int
	wg       sync.WaitGroup // sessions, forwards, keep-alives, listeners
	reapWG   sync.WaitGroup
	conns    sync.Map      // *gossh.ServerConn → keep-alive started
	seq      atomic.Uint64 // session numbers for logs
}

// New reads the host key and prepares the server. It does not listen yet.
func New(cfg Config) (*Agent, error) {
	cfg.setDefaults()
	signer, err := hostkey.Signer(cfg.EtcDir)
	if err != nil {
		return nil, fmt.Errorf("load host key (the runner writes %s): %w", filepath.Join(cfg.EtcDir, fileHostKey), err)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, drained: make(chan struct{}), reaper: proc.NewReaper(cfg.ReapAll, cfg.Logger), code: kernel.NewManager(), lc: newLifecycle()}
	a.reaper.SetChildOOMScoreAdj(cfg.ChildOOMScoreAdj)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.hooksCtx, a.cancelHooks = context.WithCancel(context.Background())
	a.srv = a.newServer(signer)
	return a, nil
}

// Start starts reaping (if ReapAll), listens on the socket and/or TCP
// address, serves in the background and starts the supervised child.
func (a *Agent) Start() error {
	if a.cfg.ReapAll {
		a.reapWG.Add(1)
		go func() { defer a.reapWG.Done(); a.reaper.Run(a.ctx) }()
	}
	if a.cfg.SocketPath != "" {
		ln, err := listenUnix(a.cfg.SocketPath)
		if err != nil {
			a.Close()
			return err
		}
		a.serve(ln)
		a.log.Info("listening", "socket", a.cfg.SocketPath)
	}
	if a.cfg.ListenTCP != "" || a.cfg.Listener != nil {
		tl := a.cfg.Listener
		if tl == nil {
			var err error
			if tl, err = net.Listen("tcp", a.cfg.ListenTCP); err != nil {
				a.Close()
				return fmt.Errorf("listen on %s: %w", a.cfg.ListenTCP, err)
			}
		}
		a.mu.Lock()
		a.tcpAddr = tl.Addr()
		a.tcpLn, _ = tl.(*net.TCPListener)
		a.mu.Unlock()
		a.serve(tl)
		a.log.Info("listening", "tcp", tl.Addr().String())
	}
	if len(a.cfg.Command) > 0 && a.cfg.Listener == nil {
		a.startChild()
	}
	if a.cfg.Devcontainer != nil && a.cfg.Listener == nil && a.track() {
		go func() { defer a.wg.Done(); a.runLifecycle() }()
	} else {
		a.lc.update(func(s *LifecycleStatus) { s.Done = true })
	}
	return nil
}

// TCPAddr is the bound TCP address, or nil without ListenTCP.
func (a *Agent) TCPAddr() net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tcpAddr
}

func (a *Agent) serve(ln net.Listener) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			a.log.Error("serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// listenUnix removes a stale socket at path and listens there, mode 0666:
// only host root and this container can reach the directory.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return ln, nil
}

// Shutdown forwards sig to the supervised child and waits for it to exit
// (killing it when ctx ends first), then closes the listeners and every
// connection (sessions' processes are killed), and waits for the agent's
// goroutines.
func (a *Agent) Shutdown(ctx context.Context, sig syscall.Signal) error {
	a.mu.Lock()
	a.closing = true
	child := a.child
	a.mu.Unlock()
	if child != nil {
		stopChild(ctx, child, sig)
	}
	a.cancelHooks()
	err := a.srv.Close()
	a.procs.killAll()
	a.code.Close()
	a.wg.Wait()
	a.cancel()
	a.reapWG.Wait()
	return err
}

// Close is Shutdown with SIGKILL for the child.
func (a *Agent) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.Shutdown(ctx, syscall.SIGKILL)
}

// track registers a goroutine Shutdown waits for; it refuses new work once
// the agent is closing.
func (a *Agent) track() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.wg.Add(1)
	return true
}
