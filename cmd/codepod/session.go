package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/internal/sandboxssh"
)

// sandboxSessionCommands are the commands that reach into a running
// sandbox through the tunnel: exec, ssh, cp, port-forward, logs.
func sandboxSessionCommands() []*cobra.Command {
	return append([]*cobra.Command{newExecCmd(), newRunCodeCmd(), newSSHCmd(), newCpCmd(), newPortForwardCmd(), newLogsCmd()}, processCommands()...)
}

// dialSandbox opens an SSH client to a running sandbox with the CLI's
// settings: what every command that reaches into a sandbox starts with.
func dialSandbox(cmd *cobra.Command, ref string) (*ssh.Client, error) {
	c, err := newAPIClient(true)
	if err != nil {
		return nil, err
	}
	sc, _, err := c.sshTo(cmd.Context(), ref)
	return sc, err
}

// sshTo opens an SSH client to a running sandbox: a short-lived token from
// the server, the tunnel, and the host key pinned to the server's record.
func (c *apiClient) sshTo(ctx context.Context, ref string) (*ssh.Client, *client.Sandbox, error) {
	return c.sshToWith(ctx, ref, nil)
}

// sshToWith is sshTo that also hands the verified host key to onHostKey.
func (c *apiClient) sshToWith(ctx context.Context, ref string, onHostKey func(ssh.PublicKey)) (*ssh.Client, *client.Sandbox, error) {
	r, err := c.GetSandboxWithResponse(ctx, ref)
	if err := c.check(err, r); err != nil {
		return nil, nil, err
	}
	sb := r.JSON200
	if sb.Status != "running" {
		return nil, nil, fmt.Errorf("sandbox %s is %s, not running", ref, sb.Status)
	}
	tr, err := c.CreateSshTokenWithResponse(ctx, sb.Id, client.CreateSSHTokenRequest{})
	if err := c.check(err, tr); err != nil {
		return nil, nil, err
	}
	sc, err := sandboxssh.Dial(ctx, sandboxssh.Target{
		ServerURL: c.ServerURL, APIKey: c.APIKey, Workspace: c.Workspace, HTTPClient: c.HTTP, SandboxID: sb.Id,
		HostKeyFingerprint: sb.HostKeyFingerprint, Auth: []ssh.AuthMethod{ssh.Password(tr.JSON201.Token)},
		OnHostKey: onHostKey,
	})
	return sc, sb, err
}

// execOptions shape one remote command.
type execOptions struct {
	env         []string
	workdir     string
	stdin, tty  bool
	interactive bool // a login shell when no command is given
}

// runRemote runs argv (or a login shell) in the sandbox with the local
// terminal and streams, and returns its exit code.
func runRemote(cmd *cobra.Command, ref string, argv []string, o execOptions) error {
	sc, err := dialSandbox(cmd, ref)
	if err != nil {
		return err
	}
	defer sc.Close()
	s, err := sc.NewSession()
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	env, err := parseKV(o.env, "env")
	if err != nil {
		return err
	}
	if env == nil {
		env = map[string]string{}
	}
	if o.workdir != "" {
		env["CODEPOD_CWD"] = o.workdir
	}
	for k, v := range env {
		if err := s.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	s.Stdout, s.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.stdin {
		s.Stdin = cmd.InOrStdin()
	}
	if o.tty {
		restore, err := startPTY(cmd.Context(), s)
		if err != nil {
			return err
		}
		defer restore()
	}
	if len(argv) == 0 {
		err = s.Shell()
	} else {
		err = s.Start(shellJoin(argv))
	}
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	werr := s.Wait()
	if lost := connectionLost(ref, werr); lost != nil {
		return lost
	}
	code, err := sandboxssh.ExitCode(werr)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code: code}
	}
	return nil
}

// startPTY asks for a terminal the size of ours, puts ours in raw mode and
// follows its size changes.
func startPTY(ctx context.Context, s *ssh.Session) (restore func(), err error) {
	fd := int(os.Stdin.Fd())
	w, h := 80, 24
	if cw, ch, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
		w, h = cw, ch
	}
	termName := os.Getenv("TERM")
	if termName == "" {
		termName = "xterm-256color"
	}
	if err := s.RequestPty(termName, h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return nil, fmt.Errorf("request a terminal: %w", err)
	}
	restore = func() {}
	if term.IsTerminal(fd) {
		old, err := term.MakeRaw(fd)
		if err == nil {
			restore = func() { term.Restore(fd, old) }
		}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-winch:
				if !ok {
					return
				}
				if cw, ch, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
					s.WindowChange(ch, cw)
				}
			}
		}
	}()
	prev := restore
	return func() { signal.Stop(winch); prev() }, nil
}

func newExecCmd() *cobra.Command {
	var o execOptions
	var background bool
	cmd := &cobra.Command{
		Use:   "exec ID|NAME [flags] -- CMD [ARG...]",
		Short: "Run a command in a sandbox; its exit code passes through",
		Example: `  codepod sandbox exec demo -- python3 -c 'print(6*7)'
  tar c . | codepod sandbox exec -i demo -- tar x -C /work
  codepod sandbox exec -it demo -- bash
  codepod sandbox exec --background demo -- python3 -m http.server 8000`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if background {
				if o.stdin || o.tty {
					return fmt.Errorf("--background takes no -i or -t: attach later with codepod sandbox attach")
				}
				return startBackground(cmd, args[0], args[1:], o)
			}
			return runRemote(cmd, args[0], args[1:], o)
		},
	}
	cmd.Flags().BoolVarP(&background, "background", "d", false, "start the command as a background process, print its pid and return (see ps, attach, kill)")
	cmd.Flags().StringArrayVar(&o.env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	cmd.Flags().StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the sandbox")
	cmd.Flags().BoolVarP(&o.stdin, "interactive", "i", false, "pass standard input to the command")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "allocate a terminal")
	return cmd
}

func newSSHCmd() *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "ssh ID|NAME [-- CMD...]",
		Short: "Open a shell in a sandbox, or run one command",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Like OpenSSH: a shell gets a terminal when ours is one; a
			// command gets one only with -t.
			o.stdin = true
			if len(args) == 1 && isTerminal(cmd.InOrStdin()) {
				o.tty = true
			}
			return runRemote(cmd, args[0], args[1:], o)
		},
	}
	cmd.Flags().StringArrayVar(&o.env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	cmd.Flags().StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the sandbox")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "allocate a terminal for the command")
	return cmd
}

// shellJoin quotes argv for the remote shell, so each argument arrives as is.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
