package gateway_test

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/gateway"
)

// screen collects a terminal's output.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// waitFor fails unless the output contains want within 5s.
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	if !s.within(want, 5*time.Second) {
		t.Fatalf("terminal output %q does not contain %q", s.text(), want)
	}
}

// within reports whether the output contains want within d.
func (s *screen) within(want string, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(s.text(), want) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
	}
}

func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestShellSizeResizeAndExit(t *testing.T) {
	c := newSandbox(t).client(t)
	term, err := gateway.Shell(ctx(t), c, 100, 30, "sh")
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	var out screen
	copied := make(chan struct{})
	go func() { io.Copy(&out, term.Stdout); close(copied) }()

	io.WriteString(term.Stdin, "stty size; echo TERM=$TERM\n")
	out.waitFor(t, "30 100")
	out.waitFor(t, "TERM="+gateway.DefaultTerm)
	if err := term.Resize(120, 40); err != nil {
		t.Fatal(err)
	}
	// The agent applies a window-change beside the keystrokes, not in line
	// with them (gliderlabs/ssh hands each to its own goroutine), so a line
	// typed at once may run before the new size: type it again until the
	// size shows, as a user would.
	for deadline := time.Now().Add(10 * time.Second); ; {
		io.WriteString(term.Stdin, "stty size\n")
		if out.within("40 120", 500*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal output %q does not contain %q", out.text(), "40 120")
		}
	}
	io.WriteString(term.Stdin, "exit 5\n")
	code, err := term.Wait()
	if err != nil || code != 5 {
		t.Errorf("Wait: %d, %v; want 5", code, err)
	}
	<-copied
}

func TestShellCloseEndsIt(t *testing.T) {
	c := newSandbox(t).client(t)
	term, err := gateway.Shell(ctx(t), c, 80, 24, "")
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, term.Stdout)
	done := make(chan struct{})
	go func() { term.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the terminal")
	}
	if _, err := gateway.Shell(ctx(t), c, 0, 24, ""); err == nil {
		t.Error("a 0-column terminal was accepted")
	}
}
