package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/netpolicy"
	"github.com/codepod-dev/codepod/wire"
)

// runnerOptions are a runner's settings; flags and environment fill them.
type runnerOptions struct {
	Server, Token, StateDir, Name string
	AgentBinary, Runtime          string
	AgentChannel                  string
	Labels                        []string
	WarmPools                     []string
	PublicRanges                  []string
	DNSUpstream                   string
	CapSandboxes                  int
	CapMemory                     string
	Reconcile                     time.Duration
	DiskCheck                     time.Duration
	LogLevel, LogFormat           string
	AutoUpdate                    bool
}

func (o *runnerOptions) register(cmd *cobra.Command, withServer bool) {
	fs := cmd.Flags()
	if withServer {
		envString(fs, &o.Server, "server", "CODEPOD_SERVER_URL", "", "the CodePod server's URL")
		envString(fs, &o.Token, "token", "CODEPOD_RUNNER_TOKEN", "", "registration token (`codepod runner-token create`); needed only the first time")
		envString(fs, &o.StateDir, "state-dir", "CODEPOD_RUNNER_STATE_DIR", filepath.Join(defaultDataDir(), "runner"), "keeps the runner's identity and per-sandbox directories")
		envString(fs, &o.LogLevel, "log-level", "CODEPOD_LOG_LEVEL", "info", "log level: debug, info, warn, error")
		envString(fs, &o.LogFormat, "log-format", "CODEPOD_LOG_FORMAT", "text", "log format: text or json")
		auto := os.Getenv("CODEPOD_RUNNER_AUTO_UPDATE")
		fs.BoolVar(&o.AutoUpdate, "auto-update", auto == "1" || auto == "true",
			"when the server runs another version, download its codepod binary, check its SHA-256, replace this binary, finish held jobs and restart (sandboxes keep running) [$CODEPOD_RUNNER_AUTO_UPDATE]")
	}
	envString(fs, &o.Name, "name", "CODEPOD_RUNNER_NAME", "", "the runner's name (default: the host name)")
	envString(fs, &o.AgentBinary, "agent-binary", "CODEPOD_AGENT_BINARY", "", "static codepod-agent binary to inject (default: next to this binary, else on PATH)")
	envString(fs, &o.Runtime, "runtime", "CODEPOD_RUNTIME", "", "default runtime of sandboxes that name none: runc or gvisor (default: the engine's)")
	envString(fs, &o.AgentChannel, "agent-channel", "CODEPOD_AGENT_CHANNEL", "", "how the runner reaches agents: netns (root, local engine) or exec (docker exec relay); default: netns when it can")
	envList(fs, &o.Labels, "label", "CODEPOD_RUNNER_LABELS", "label key=value sandboxes can ask for (repeatable)")
	var pools []string
	if v := os.Getenv("CODEPOD_WARM_POOLS"); v != "" {
		pools = strings.Fields(v)
	}
	fs.StringArrayVar(&o.WarmPools, "warm-pool", pools, "keep N sandboxes of an image ready: IMAGE=N[,cpu=C][,memory=M][,network=none|bridge][,runtime=runc|gvisor] (repeatable) [$CODEPOD_WARM_POOLS, space-separated]")
	envList(fs, &o.PublicRanges, "public-range", "CODEPOD_PUBLIC_RANGES", "CIDR the internet network policy treats as public although it lies in a private range (repeatable; e.g. a lab network)")
	envString(fs, &o.DNSUpstream, "dns-upstream", "CODEPOD_DNS_UPSTREAM", "", "DNS server (IP[:port]) the runner resolves the names of domain allow-lists with, for sandboxes and its egress proxy (default: the first nameserver of /etc/resolv.conf)")
	envInt(fs, &o.CapSandboxes, "capacity-sandboxes", "CODEPOD_CAPACITY_SANDBOXES", 0, "most sandboxes at once (default 20; -1: no limit)")
	envString(fs, &o.CapMemory, "capacity-memory", "CODEPOD_CAPACITY_MEMORY", "", "total memory of its sandboxes, e.g. 16g (default 80% of the host's)")
	envDuration(fs, &o.Reconcile, "reconcile-interval", "CODEPOD_RECONCILE_INTERVAL", runner.DefaultReconcileInterval, "how often the runner reports its full inventory")
	envDuration(fs, &o.DiskCheck, "disk-check-interval", "CODEPOD_DISK_CHECK_INTERVAL", runner.DefaultDiskCheckInterval, "how often the runner measures its sandboxes' file systems against their disk limits")
}

// findAgent locates the codepod-agent binary.
func findAgent(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "codepod-agent")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("codepod-agent"); err == nil {
		return filepath.Abs(p)
	}
	return "", errors.New("codepod-agent not found: run `go run ./cmd/codepod up` in the checkout (it builds bin/codepod-agent), build it with `CGO_ENABLED=0 go build -o bin/codepod-agent ./cmd/codepod-agent`, or give --agent-binary")
}

func (o runnerOptions) config() (runner.Config, error) {
	agent, err := findAgent(o.AgentBinary)
	if err != nil {
		return runner.Config{}, err
	}
	labels, err := parseKV(o.Labels, "label")
	if err != nil {
		return runner.Config{}, err
	}
	capacity := wire.Capacity{Sandboxes: o.CapSandboxes}
	if o.CapMemory != "" {
		if capacity.MemoryBytes, err = codepod.ParseBytes(o.CapMemory); err != nil {
			return runner.Config{}, fmt.Errorf("--capacity-memory: %w", err)
		}
	}
	var pools []runner.PoolSpec
	for _, w := range o.WarmPools {
		p, err := runner.ParsePoolSpec(w)
		if err != nil {
			return runner.Config{}, fmt.Errorf("--warm-pool: %w", err)
		}
		pools = append(pools, p)
	}
	return runner.Config{
		Pools:  pools,
		Server: o.Server, Token: o.Token, StateDir: o.StateDir, Name: o.Name, Labels: labels,
		AgentBinary: agent, Runtime: o.Runtime, Capacity: capacity, ReconcileInterval: o.Reconcile, DiskCheckInterval: o.DiskCheck,
		CAFile: os.Getenv("CODEPOD_CA_FILE"),
	}, nil
}

func newRunnerCmd() *cobra.Command {
	var o runnerOptions
	cmd := &cobra.Command{
		Use:   "runner --server URL --token TOKEN",
		Short: "Run a runner: take jobs from a server and run sandboxes on the local Docker Engine",
		Long: `Run a runner. It registers with the server once (the registration token is
needed only the first time; the runner's own credential is kept in its state
directory), then long-polls the server over HTTPS for jobs and drives the local
Docker Engine. It only dials out, so it works behind NAT and HTTP proxies
(HTTPS_PROXY, NO_PROXY); CODEPOD_CA_FILE adds a CA bundle to trust.

` + "`codepod runner list` and `codepod runner delete ID`" + ` manage runners (admin).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Server == "" {
				return errors.New("--server is required (or CODEPOD_SERVER_URL)")
			}
			return runRunner(cmd, o)
		},
	}
	o.register(cmd, true)
	cmd.AddCommand(runnerListCmd(), runnerDeleteCmd(), runnerWorkspacesCmd())
	return cmd
}

func runRunner(cmd *cobra.Command, o runnerOptions) error {
	if err := errors.Join(badEnv...); err != nil {
		return err
	}
	logger, err := newLogger(o.LogLevel, o.LogFormat)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	be, err := docker.New(docker.Config{Logger: logger, AgentChannel: o.AgentChannel})
	if err != nil {
		return err
	}
	defer be.Close()
	cfg.Backend, cfg.Logger = be, logger
	if cfg.Firewall, err = o.firewall(be, logger); err != nil {
		return err
	}
	if o.AutoUpdate {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			return fmt.Errorf("--auto-update: cannot find this binary to replace it: %w", err)
		}
		cfg.AutoUpdate, cfg.Executable = true, exe
	}
	r, err := runner.New(cfg)
	if err != nil {
		return err
	}
	err = r.Run(cmd.Context())
	if !errors.Is(err, runner.ErrRestart) {
		return err
	}
	// The new binary is in place and the held jobs are done: become it,
	// with the same pid, arguments and environment.
	be.Close()
	logger.Info("restarting the runner with its new binary", "path", cfg.Executable)
	if err := syscall.Exec(cfg.Executable, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("restart %s after the update (start it again by hand): %w", cfg.Executable, err)
	}
	return nil
}

// firewall is the runner's network policy enforcement (runner/netpolicy),
// or nil, with a warning, where iptables cannot run: such a runner fails
// sandboxes that ask for a network policy.
func (o runnerOptions) firewall(be *docker.Backend, log *slog.Logger) (runner.Firewall, error) {
	var public []netip.Prefix
	for _, s := range o.PublicRanges {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("--public-range %q must be an IPv4 CIDR such as 10.20.0.0/16", s)
		}
		public = append(public, p.Masked())
	}
	if os.Geteuid() != 0 {
		log.Warn("not root: network policies are not enforced here; sandboxes that ask for one fail on this runner")
		return nil, nil
	}
	upstream := o.DNSUpstream
	if upstream != "" {
		if _, err := netip.ParseAddrPort(upstream); err != nil {
			a, err := netip.ParseAddr(upstream)
			if err != nil {
				return nil, fmt.Errorf("--dns-upstream %q must be an IP address, optionally with :port (e.g. 10.0.0.2 or 10.0.0.2:53)", upstream)
			}
			upstream = netip.AddrPortFrom(a, 53).String()
		}
	}
	fw, err := netpolicy.New(netpolicy.Config{Bridge: be.PolicyBridge(), Public: public, Upstream: upstream, Logger: log.With("component", "netpolicy")})
	if err != nil {
		log.Warn("network policies are not enforced here; sandboxes that ask for one fail on this runner", "err", err)
		return nil, nil
	}
	return fw, nil
}
