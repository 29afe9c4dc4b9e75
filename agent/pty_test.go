package agent_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// ptySession starts cmd (or a login shell if cmd is empty) on a terminal of
// the given size, and returns its stdin and merged output.
func ptySession(t *testing.T, c *ssh.Client, rows, cols int, cmd string) (*ssh.Session, io.Writer, io.Reader) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.RequestPty("xterm", rows, cols, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if cmd == "" {
		err = s.Shell()
	} else {
		err = s.Start(cmd)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s, in, out
}

func TestPTYResize(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	s, in, out := ptySession(t, c, 24, 80, `echo ready; while read x; do stty size; done`)
	readUntil(t, out, "ready", 5*time.Second)
	io.WriteString(in, "\n")
	readUntil(t, out, "24 80", 5*time.Second)
	if err := s.WindowChange(40, 100); err != nil {
		t.Fatal(err)
	}
	// The resize and the keystroke travel separately: ask until it shows.
	got := make(chan struct{})
	go func() {
		for {
			select {
			case <-got:
				return
			case <-time.After(50 * time.Millisecond):
				io.WriteString(in, "\n")
			}
		}
	}()
	readUntil(t, out, "40 100", 5*time.Second)
	close(got)
}

// TestPTYZeroWindow: OpenSSH without a local terminal announces 0x0.
func TestPTYZeroWindow(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	_, _, out := ptySession(t, c, 0, 0, "stty size")
	readUntil(t, out, "24 80", 5*time.Second)
}

func TestPTYExecExitCodeAndTTY(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	s, _, out := ptySession(t, c, 24, 80, `test -t 0 && test -t 1 && echo "tty:$TERM"; exit 5`)
	readUntil(t, out, "tty:xterm", 5*time.Second)
	err := s.Wait()
	if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 5 {
		t.Fatalf("wait: %v, want exit 5", err)
	}
}

// TestPTYRawOutput checks that output under a terminal is not rewritten:
// with the terminal in raw mode a lone "\n" stays a lone "\n".
func TestPTYRawOutput(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	_, _, out := ptySession(t, c, 24, 80, `stty raw -echo; printf 'a\nb\n'; printf END`)
	got := readUntil(t, out, "END", 5*time.Second)
	if !strings.Contains(got, "a\nb\nEND") {
		t.Errorf("raw output rewritten: %q", got)
	}
}

func TestLoginShell(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	s, in, out := ptySession(t, c, 24, 80, "")
	io.WriteString(in, "echo shell=$0; exit 9\n")
	readUntil(t, out, "shell=", 5*time.Second)
	err := s.Wait()
	if ee, ok := err.(*ssh.ExitError); !ok || ee.ExitStatus() != 9 {
		t.Fatalf("wait: %v, want exit 9", err)
	}
}

// TestPTYSignalToForeground: ^C-style INT from the client stops the command.
func TestPTYSignal(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	s, _, out := ptySession(t, c, 24, 80, "echo ready; exec sleep 30")
	readUntil(t, out, "ready", 5*time.Second)
	s.Signal(ssh.SIGINT)
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*ssh.ExitError); !ok || ee.Signal() != "INT" {
			t.Fatalf("wait: %v, want exit-signal INT", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("INT did not stop the command")
	}
}
