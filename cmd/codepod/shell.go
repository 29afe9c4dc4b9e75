package main

// The interactive mode: `codepod` with no arguments on a terminal, or
// `codepod shell`. Each line is a CLI command without the "codepod"
// prefix, run exactly as `codepod <line>` would run it (a fresh command
// tree per line, so no flag leaks from one line to the next). Tab
// completes commands, flags and sandbox names through cobra's own
// completion (the same answers a shell's completion script gets), and the
// history is kept in the config directory.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"

	shlex "github.com/anmitsu/go-shlex"
	"github.com/peterh/liner"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// historyLimit is how many lines the shell keeps across sessions.
const historyLimit = 1000

func newShellCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "Interactive mode: CLI commands without the codepod prefix, with history and tab completion",
		Long: `Interactive mode (also: codepod with no arguments on a terminal).

Every CLI command works without the "codepod" prefix: "sandbox list",
"sandbox exec web -- ls". Tab completes commands, flags and sandbox names;
Up/Down and Ctrl-R recall history (kept in the config directory); Ctrl-C
clears the line or stops the running command; Ctrl-D or "exit" leaves.
The prompt shows the server the commands talk to.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runShell(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// isShell reports whether args start the interactive mode: no arguments
// with a terminal on both ends, or "shell". main leaves SIGINT to it then
// (a Ctrl-C stops one command, not the shell).
func isShell(args []string) bool {
	if len(args) == 1 && args[0] == "shell" {
		return true
	}
	return len(args) == 0 && term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

func runShell(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		return completeLine(ctx, line, pos)
	})
	hist := historyPath()
	if f, err := os.Open(hist); err == nil {
		ln.ReadHistory(f)
		f.Close()
	}
	save := func() {
		if hist == "" {
			return
		}
		if err := os.MkdirAll(filepath.Dir(hist), 0o700); err != nil {
			return
		}
		if f, err := os.OpenFile(hist, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
			ln.WriteHistory(f)
			f.Close()
		}
	}
	defer save()

	// SIGINT (Ctrl-C while a command runs; at the prompt it is a key)
	// ends the running command only.
	var current atomic.Pointer[context.CancelFunc]
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt)
	done := make(chan struct{})
	defer func() { signal.Stop(intr); close(done) }()
	go func() {
		for {
			select {
			case <-intr:
				if c := current.Load(); c != nil {
					(*c)()
				}
			case <-done:
				return
			}
		}
	}()

	fmt.Fprintf(stdout, "CodePod %s: commands without the codepod prefix; Tab completes, Ctrl-D or exit leaves, help lists commands.\n", shellServer())
	for {
		if ctx.Err() != nil {
			return nil
		}
		line, err := ln.Prompt(shellPrompt())
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			continue // Ctrl-C: a fresh line
		case errors.Is(err, io.EOF):
			fmt.Fprintln(stdout)
			return nil
		case err != nil:
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ln.AppendHistory(line)
		args, err := shlex.Split(line, true)
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			continue
		}
		if len(args) > 0 && args[0] == "codepod" {
			args = args[1:] // pasted from docs
		}
		switch {
		case len(args) == 0:
			continue
		case len(args) == 1 && (args[0] == "exit" || args[0] == "quit"):
			return nil
		case args[0] == "shell":
			fmt.Fprintln(stderr, "Error: already in the interactive mode")
			continue
		}
		cmdCtx, cancel := context.WithCancel(ctx)
		current.Store(&cancel)
		if code := run(cmdCtx, args); code != 0 {
			fmt.Fprintf(stderr, "[exit %d]\n", code)
		}
		current.Store(nil)
		cancel()
		save()
	}
}

// shellServer is the server the commands talk to, for the banner.
func shellServer() string {
	cfg, err := loadConfig()
	if err != nil {
		return defaultServerURL
	}
	s, _ := cfg.get("SERVER_URL")
	if s == "" {
		s = defaultServerURL
	}
	return s
}

// shellPrompt names the server's host (read each time: `config set` or
// `login` in the shell changes it).
func shellPrompt() string {
	host := shellServer()
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Host
	}
	if ws := currentWorkspace(); ws != "" {
		return "codepod " + host + " [" + ws + "]> "
	}
	return "codepod " + host + "> "
}

func historyPath() string {
	p, err := configPath()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(p), "history")
}

// completeLine completes the word at pos through cobra's hidden
// __complete command: the answers a shell completion script gets,
// sandbox names included.
func completeLine(ctx context.Context, line string, pos int) (head string, completions []string, tail string) {
	head, tail = line[:pos], line[pos:]
	words, err := shlex.Split(head, true)
	if err != nil {
		return head, nil, tail
	}
	cur := ""
	if head != "" && !strings.HasSuffix(head, " ") && len(words) > 0 {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append(append([]string{cobra.ShellCompRequestCmd}, words...), cur))
	if err := root.ExecuteContext(ctx); err != nil {
		return head, nil, tail
	}
	prefix := head[:len(head)-len(cur)]
	for _, l := range strings.Split(out.String(), "\n") {
		if l == "" || strings.HasPrefix(l, ":") || strings.HasPrefix(l, "Completion ended") {
			continue
		}
		name, _, _ := strings.Cut(l, "\t")
		if strings.HasPrefix(name, cur) && name != "shell" && !strings.HasPrefix(name, "__") {
			completions = append(completions, name+" ")
		}
	}
	return prefix, completions, tail
}
