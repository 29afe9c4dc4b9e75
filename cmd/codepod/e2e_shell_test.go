package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession is the CLI on a pseudo-terminal, as a person at a terminal
// runs it: what it printed so far, and keys to type.
type ptySession struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	mark int // expect looks after this offset
	done chan struct{}
}

func startPTY(t *testing.T, env []string, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(binaries(t), args...)
	cmd.Env = env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, f: f, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	return s
}

func (s *ptySession) typ(keys string) {
	s.t.Helper()
	if _, err := s.f.Write([]byte(keys)); err != nil {
		s.t.Fatalf("type %q: %v", keys, err)
	}
}

// expect waits until the output after the mark holds want, then moves the
// mark past it.
func (s *ptySession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s.mu.Lock()
		got := s.out.String()[s.mark:]
		i := strings.Index(got, want)
		if i >= 0 {
			s.mark += i + len(want)
		}
		s.mu.Unlock()
		if i >= 0 {
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("the CLI ended before printing %q; it printed:\n%s", want, got)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q within 60s; the terminal shows:\n%s", want, got)
		}
	}
}

// TestShell drives the interactive mode through a pseudo-terminal: the
// server in the prompt, a command without the prefix, Tab completing a
// command and a sandbox name, history recall with Up (also in a later
// session), an error that does not end the shell, and Ctrl-D.
func TestShell(t *testing.T) {
	c := newCluster(t)
	c.must("sandbox", "create", "repl-alpha", "--image", "codepod/tiny:latest")
	c.must("sandbox", "create", "repl-beta", "--image", "codepod/tiny:latest")
	home := t.TempDir()
	env := c.cliEnv(cliOpts{home: home})
	host := strings.TrimPrefix(c.URL, "http://")

	s := startPTY(t, env) // no arguments, on a terminal
	prompt := "codepod " + host + "> "
	s.expect(prompt)
	s.typ("sandbox list\r")
	s.expect("repl-alpha")
	s.expect(prompt)

	// Tab completes the subcommand, then the sandbox name.
	s.typ("sandbox ge\t")
	s.expect("sandbox get ")
	s.typ("repl-a\t")
	s.expect("repl-alpha ")
	s.typ("\r")
	s.expect("codepod/tiny:latest") // sandbox get's output
	s.expect(prompt)

	// A mistake prints the problem and the shell goes on.
	s.typ("sandbox get no-such-box\r")
	s.expect("not found")
	s.expect("[exit 1]")
	s.expect(prompt)

	// Up three times: "sandbox list" again.
	s.typ("\x1b[A\x1b[A\x1b[A\r")
	s.expect("repl-beta")
	s.expect(prompt)
	s.typ("\x04") // Ctrl-D
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("Ctrl-D did not end the shell")
	}
	if err := s.cmd.Wait(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("the shell exited %d", ee.ExitCode())
		}
	}
	hist, err := os.ReadFile(filepath.Join(home, ".config", "codepod", "history"))
	if err != nil || !strings.Contains(string(hist), "sandbox get repl-alpha") {
		t.Fatalf("history file: %q, %v", hist, err)
	}

	// A later session recalls the last session's lines; "exit" leaves.
	s2 := startPTY(t, env, "shell")
	s2.expect(prompt)
	s2.typ("\x1b[A")
	s2.expect("sandbox list")
	s2.typ("\x15exit\r") // Ctrl-U clears the recalled line
	select {
	case <-s2.done:
	case <-time.After(30 * time.Second):
		t.Fatal("exit did not end the shell")
	}
}
