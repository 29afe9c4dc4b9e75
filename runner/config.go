package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/codepod-dev/codepod/internal/httpclient"
	"github.com/codepod-dev/codepod/internal/version"
	"github.com/codepod-dev/codepod/wire"
)

// Defaults for Config's zero fields.
const (
	DefaultCapacitySandboxes = 20
	DefaultMemoryPercent     = 80 // of the host's memory
	DefaultConcurrency       = 8
	DefaultPollWait          = 25 * time.Second
	DefaultReconcileInterval = 60 * time.Second
	DefaultMaxBackoff        = 10 * time.Second
	DefaultShutdownGrace     = 10 * time.Second
	DefaultReportTimeout     = 30 * time.Second
	DefaultStopTimeout       = 10 * time.Second
	DefaultProgressInterval  = 3 * time.Second
	DefaultReachableTimeout  = 30 * time.Second
)

// Config configures a Runner. Only Server, StateDir, AgentBinary and Backend
// are required (and Token, the first time a state directory is used).
type Config struct {
	Server   string // the server's base URL, e.g. https://codepod.example.com
	Token    string // registration token; unused once StateDir holds an identity
	StateDir string // holds runner.json and sandboxes/<id>/

	Name    string            // registered name; default: the host name
	Labels  map[string]string // registered labels sandboxes can ask for
	Version string            // default: this binary's version

	// AutoUpdate makes the runner replace Executable with the server's
	// binary when the server's version differs from Version, drain its
	// jobs and return ErrRestart from Run.
	AutoUpdate bool
	Executable string // the runner's own binary (os.Executable, symlinks resolved)

	AgentBinary string  // host path of the static codepod-agent binary
	Backend     Backend // the container engine (runner/docker)
	// Firewall enforces network policies (runner/netpolicy); nil: this
	// runner refuses sandboxes with a network policy.
	Firewall Firewall
	Runtime  string // default runtime for sandboxes: "gvisor", "runc" (or an engine runtime name); "": engine default

	// Capacity is sent in every heartbeat. A zero field takes its default
	// (20 sandboxes; 80% of the host's memory); a negative one means "no
	// limit" (sent as 0).
	Capacity wire.Capacity

	// Pools are the warm pools to keep full (needs a Backend with
	// PoolBackend); see docs/runner.md.
	Pools []PoolSpec

	Concurrency       int           // jobs at once (8)
	PollWait          time.Duration // how long the server may hold a poll (25s)
	ReconcileInterval time.Duration // full inventory every (60s)
	MaxBackoff        time.Duration // retry cap while the server is away (10s)
	ShutdownGrace     time.Duration // running jobs get this long after Run's ctx ends (10s)
	ReportTimeout     time.Duration // a result report retries for this long (30s)
	StopTimeout       time.Duration // container stop grace before SIGKILL (10s)
	ProgressInterval  time.Duration // least time between two progress reports (3s)
	ReachableTimeout  time.Duration // a created or started sandbox's agent must answer within (30s)
	// DiskCheckInterval is how often what the sandboxes hold (writable
	// layers, named volumes) is measured against their disk limits (10s;
	// disk.go).
	DiskCheckInterval time.Duration

	// HTTPClient dials the server; nil builds one that honours the proxy
	// environment and trusts CAFile on top of the system roots.
	HTTPClient *http.Client
	CAFile     string

	// Tunnels serves tunnel jobs; nil means the built-in WSTunneler, whose
	// tunnels Run waits for on shutdown.
	Tunnels Tunneler
	Logger  *slog.Logger

	// ImageBuilds, when set, knows the images being built beside this
	// runner (codepod up builds codepod/base while it serves): a create for
	// one of them waits for its build, showing the build's progress as the
	// sandbox's reason, instead of trying to pull it.
	ImageBuilds ImageBuilds
}

// ImageBuilds is what the runner asks of the images being built on its
// engine; runner/images.Builds provides it.
type ImageBuilds interface {
	// Wait blocks while ref is being built, handing progress messages to
	// progress, and returns the build's error; (false, nil) at once when ref
	// is not being built.
	Wait(ctx context.Context, ref string, progress func(string)) (waited bool, err error)
}

// withDefaults checks c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	if err := c.check(); err != nil {
		return c, err
	}
	c.Server = strings.TrimRight(c.Server, "/")
	var err error
	// Docker bind mounts need absolute host paths.
	if c.StateDir, err = filepath.Abs(c.StateDir); err != nil {
		return c, fmt.Errorf("runner: state directory: %w", err)
	}
	if c.AgentBinary, err = filepath.Abs(c.AgentBinary); err != nil {
		return c, fmt.Errorf("runner: agent binary: %w", err)
	}
	if c.Name == "" {
		c.Name = hostName()
	}
	if c.Version == "" {
		c.Version = version.String()
	}
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.PollWait, DefaultPollWait)
	setDefault(&c.ReconcileInterval, DefaultReconcileInterval)
	setDefault(&c.MaxBackoff, DefaultMaxBackoff)
	setDefault(&c.ShutdownGrace, DefaultShutdownGrace)
	setDefault(&c.ReportTimeout, DefaultReportTimeout)
	setDefault(&c.StopTimeout, DefaultStopTimeout)
	setDefault(&c.ProgressInterval, DefaultProgressInterval)
	setDefault(&c.ReachableTimeout, DefaultReachableTimeout)
	setDefault(&c.DiskCheckInterval, DefaultDiskCheckInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Tunnels == nil {
		c.Tunnels = NewWSTunneler(c.Logger)
	}
	if c.HTTPClient == nil {
		hc, err := httpclient.New(c.CAFile)
		if err != nil {
			return c, err
		}
		c.HTTPClient = hc
	}
	return c, nil
}

func (c Config) check() error {
	u, err := url.Parse(c.Server)
	switch {
	case c.Server == "":
		return errors.New("runner: the server URL is required (--server)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("runner: server URL %q must look like https://host[:port]", c.Server)
	case c.StateDir == "":
		return errors.New("runner: a state directory is required (--state-dir)")
	case c.AgentBinary == "":
		return errors.New("runner: the agent binary's path is required (--agent-binary)")
	case c.Backend == nil:
		return errors.New("runner: no container backend")
	case c.PollWait > 60*time.Second:
		return errors.New("runner: the poll wait must be at most 60s")
	}
	if st, err := os.Stat(c.AgentBinary); err != nil || st.IsDir() {
		return fmt.Errorf("runner: agent binary %s is not a file (build cmd/codepod-agent with CGO_ENABLED=0)", c.AgentBinary)
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "runner"
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}
