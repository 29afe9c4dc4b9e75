// Command codepod-agent is the SSH server that runs as the entrypoint of
// every CodePod sandbox container. See package agent and docs/agent.md.
//
//	codepod-agent [--etc /.codepod/etc] [--run-dir /.codepod/run]
//	              [--listen-tcp 127.0.0.1:49983] [--socket PATH]
//	              [--log-format json|text] [-- CMD ARGS...]
//
// The runner starts it with --listen-tcp 127.0.0.1:49983 and reaches it
// from the container's network namespace (docs/security-channel.md).
package main

import (
	"encoding/json"
	"io/fs"
	"path/filepath"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"syscall"
	"time"

	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/agent/proc"
	"github.com/codepod-dev/codepod/internal/version"
	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses args, serves until SIGTERM or SIGINT, and returns the exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("codepod-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := agent.Config{}
	fs.StringVar(&cfg.EtcDir, "etc", agent.DefaultEtcDir, "directory with host_key, ssh_secret, authorized_keys, sandbox_id")
	fs.StringVar(&cfg.RunDir, "run-dir", agent.DefaultRunDir, "directory for main.log (a tmpfs in a sandbox)")
	fs.StringVar(&cfg.ListenTCP, "listen-tcp", agent.DefaultListenTCP, "TCP address to listen on (\"\": none)")
	fs.StringVar(&cfg.SocketPath, "socket", "", "also listen on this Unix socket (for tests; the runner does not use one)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	takeover := fs.Bool("takeover", false, "serve the listener inherited on descriptor 3 and tell the agent that started this one on descriptor 4 (an in-place upgrade; docs/upgrades.md)")
	fs.StringVar(&cfg.AgentsDir, "agents-dir", agent.DefaultAgentsDir, "the only directory an upgrade takes a new agent binary from")
	showVersion := fs.Bool("version", false, "print the agent's version and exit")
	relayTo := fs.String("relay", "", "do not serve: connect to this TCP address and copy it to stdin and stdout (the runner's channel when it cannot enter the sandbox's network namespace)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: codepod-agent [flags] [-- CMD ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println("codepod-agent", version.String())
		return 0
	}
	if *relayTo != "" {
		return relay(*relayTo, os.Stdin, os.Stdout, stderr)
	}
	cfg.Command = fs.Args()
	cfg.Version = version.String()
	cfg.Logger = newLogger(*logFormat, stderr)
	if *takeover {
		ln, err := agent.TakeOverListener()
		if err != nil {
			cfg.Logger.Error("take over", "err", err)
			return 1
		}
		cfg.Listener, cfg.ListenTCP, cfg.Command = ln, "", nil
	}
	if err := readDevcontainer(&cfg); err != nil {
		cfg.Logger.Error("devcontainer settings not read", "err", err)
		return 1
	}
	if cfg.ListenTCP == "" && cfg.SocketPath == "" && cfg.Listener == nil {
		fmt.Fprintln(stderr, "codepod-agent: --listen-tcp or --socket is required")
		return 2
	}
	protectFromOOM(&cfg)
	// Orphans are re-parented to PID 1, or to the nearest subreaper: becoming
	// one makes the agent reap them even when it is not PID 1.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil && os.Getpid() != 1 {
		cfg.Logger.Warn("not a subreaper; orphans are not reaped", "err", err)
	}
	cfg.ReapAll = true // nothing else in this process waits for children
	// Work from root's home, where SFTP resolves relative paths (see
	// agent's sftpOptions); the image's command keeps its WORKDIR.
	if wd, err := os.Getwd(); err == nil {
		cfg.CommandDir = wd
	}
	if err := os.Chdir(rootHome()); err != nil {
		cfg.Logger.Warn("cannot move to root's home; SFTP keeps a working-directory option", "err", err)
	}
	return serve(cfg)
}

func serve(cfg agent.Config) int {
	log := cfg.Logger
	// Register before starting anything, so no signal is lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	a, err := agent.New(cfg)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if err := a.Start(); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if cfg.Listener != nil {
		if err := agent.SignalReady(); err != nil {
			log.Error("tell the previous agent this one serves", "err", err)
		}
		log.Info("took over from the previous agent", "version", version.String())
	}
	drained := a.Drained()
	if os.Getpid() == 1 {
		drained = nil // PID 1 stays: the sandbox's reaper and the image command's parent
	}
	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-drained:
			log.Info("drained after handing over; exiting")
			return 0
		}
		s := sig.(syscall.Signal)
		if s != syscall.SIGTERM && s != syscall.SIGINT {
			a.SignalChild(s)
			continue
		}
		log.Info("shutting down", "signal", sig.String())
		// Docker kills the container 10 s after its SIGTERM by default.
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		err := a.Shutdown(ctx, s)
		cancel()
		if err != nil {
			log.Warn("shutdown", "err", err)
		}
		return 0
	}
}

// protectFromOOM asks the kernel never to pick the agent when the sandbox
// runs out of memory, and to pick what it starts first. Lowering the
// agent's own score needs CAP_SYS_RESOURCE, which sandboxes do not hold:
// it fails there and the agent keeps the container's default (0), while its
// children get proc.OOMFirst (raising needs no privilege), which makes the
// kernel pick them first all the same.
func protectFromOOM(cfg *agent.Config) {
	cfg.ChildOOMScoreAdj = proc.OOMFirst
	if err := proc.SetOOMScoreAdj(0, proc.OOMNever); err != nil {
		adj, _ := proc.OOMScoreAdj(0)
		cfg.Logger.Info("the agent's oom_score_adj stays as it started; its children get 1000", "oom_score_adj", adj, "err", err)
		return
	}
	cfg.Logger.Info("the agent's oom_score_adj is -1000; its children get 1000")
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// rootHome is uid 0's home directory from /etc/passwd, else "/".
func rootHome() string {
	if u, err := user.LookupId("0"); err == nil && u.HomeDir != "" {
		if fi, err := os.Stat(u.HomeDir); err == nil && fi.IsDir() {
			return u.HomeDir
		}
	}
	return "/"
}

// readDevcontainer reads <etc>/devcontainer.json, which the runner writes
// for a sandbox made from a devcontainer.json (absent otherwise).
func readDevcontainer(cfg *agent.Config) error {
	b, err := os.ReadFile(filepath.Join(cfg.EtcDir, agent.DevcontainerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg.Devcontainer = new(agent.Devcontainer)
	return json.Unmarshal(b, cfg.Devcontainer)
}
