package gateway

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// DefaultTerm is the TERM a Shell's terminal announces (xterm.js speaks it).
const DefaultTerm = "xterm-256color"

// Terminal is an interactive command (a login shell by default) on a
// pseudo-terminal in the sandbox: the browser terminal's far end.
type Terminal struct {
	// Stdin is the terminal's input (keystrokes).
	Stdin io.Writer
	// Stdout is the terminal's output; stderr is the same stream under a
	// PTY.
	Stdout io.Reader

	s      *ssh.Session
	stdin  io.WriteCloser
	once   sync.Once
	stop   func() bool
	code   int
	err    error
	waited chan struct{}
}

// Shell starts command (a login shell when "") on a cols×rows terminal in
// a new session of c. ctx bounds the terminal's life: when it ends, the
// session is closed and the agent kills the terminal's processes.
func Shell(ctx context.Context, c *ssh.Client, cols, rows int, command string) (*Terminal, error) {
	if cols <= 0 || rows <= 0 || cols > 10000 || rows > 10000 {
		return nil, codepod.Errorf(codepod.EINVALID, "terminal size %dx%d must be between 1x1 and 10000x10000", cols, rows)
	}
	s, err := newSession(c)
	if err != nil {
		return nil, err
	}
	t, err := startTerminal(s, cols, rows, command)
	if err != nil {
		s.Close()
		return nil, err
	}
	t.stop = context.AfterFunc(ctx, func() { s.Close() })
	go t.wait()
	return t, nil
}

func startTerminal(s *ssh.Session, cols, rows int, command string) (*Terminal, error) {
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := s.RequestPty(DefaultTerm, rows, cols, modes); err != nil {
		return nil, sessionError("request a terminal", err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		return nil, sessionError("open terminal input", err)
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return nil, sessionError("open terminal output", err)
	}
	if command == "" {
		err = s.Shell()
	} else {
		err = s.Start(command)
	}
	if err != nil {
		return nil, sessionError("start the terminal", err)
	}
	return &Terminal{Stdin: stdin, Stdout: stdout, s: s, stdin: stdin, waited: make(chan struct{})}, nil
}

// wait records how the terminal's command ended.
func (t *Terminal) wait() {
	defer close(t.waited)
	err := t.s.Wait()
	t.stop()
	t.code, _, t.err = exitOf(err, false)
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		t.err = codepod.Errorf(codepod.EUNAVAILABLE, "the terminal closed without an exit status")
	}
}

// Resize tells the terminal its new size.
func (t *Terminal) Resize(cols, rows int) error {
	if cols <= 0 || rows <= 0 || cols > 10000 || rows > 10000 {
		return codepod.Errorf(codepod.EINVALID, "terminal size %dx%d must be between 1x1 and 10000x10000", cols, rows)
	}
	if err := t.s.WindowChange(rows, cols); err != nil {
		return sessionError("resize the terminal", err)
	}
	return nil
}

// Wait waits for the terminal's command to end and returns its exit code
// (128+N for signal N). The error is set when the session ended without
// an exit status (closed, or the connection was lost).
func (t *Terminal) Wait() (exitCode int, err error) {
	<-t.waited
	return t.code, t.err
}

// Close ends the session (the agent kills the terminal's processes) and
// waits for it to finish.
func (t *Terminal) Close() error {
	t.once.Do(func() {
		t.stdin.Close()
		t.s.Close()
	})
	<-t.waited
	return nil
}
