package gateway_test

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/gateway"
)

// collector gathers a streaming command's output.
type collector struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
}

func (c *collector) handlers() gateway.StreamHandlers {
	return gateway.StreamHandlers{
		Stdout: func(p []byte) { c.mu.Lock(); c.stdout.Write(p); c.mu.Unlock() },
		Stderr: func(p []byte) { c.mu.Lock(); c.stderr.Write(p); c.mu.Unlock() },
	}
}

func TestExecStreamStdinAndOutput(t *testing.T) {
	c := newSandbox(t).client(t)
	var out collector
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("hello "))
		pw.Write([]byte("world"))
		pw.Close()
	}()
	res, err := gateway.ExecStream(ctx(t), c, gateway.ExecRequest{
		Command: []string{"sh", "-c", "cat; echo warn >&2; exit 4"},
	}, out.handlers(), pr)
	if err != nil {
		t.Fatal(err)
	}
	if out.stdout.String() != "hello world" || out.stderr.String() != "warn\n" || res.ExitCode != 4 {
		t.Errorf("stdout %q stderr %q exit %d", out.stdout.String(), out.stderr.String(), res.ExitCode)
	}
}

func TestExecStreamSignal(t *testing.T) {
	c := newSandbox(t).client(t)
	var out collector
	sigs := make(chan string, 1)
	h := out.handlers()
	h.Signals = sigs
	started := make(chan struct{})
	stdout := h.Stdout
	var once sync.Once
	h.Stdout = func(p []byte) { stdout(p); once.Do(func() { close(started) }) }
	go func() {
		<-started
		sigs <- "TERM"
	}()
	pr, pw := io.Pipe() // never closed by us: ExecStream must close it
	defer pw.Close()
	res, err := gateway.ExecStream(ctx(t), c, gateway.ExecRequest{
		Command: []string{"sh", "-c", "echo ready; exec sleep 30"},
	}, h, pr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Signal != "TERM" || res.ExitCode != 143 {
		t.Errorf("signal %q exit %d, want TERM 143", res.Signal, res.ExitCode)
	}
}

// TestExecStreamSlowReader: output written just before the command exits
// must reach a client that reads slowly.
func TestExecStreamSlowReader(t *testing.T) {
	c := newSandbox(t).client(t)
	var total int
	var once sync.Once
	h := gateway.StreamHandlers{Stdout: func(p []byte) {
		once.Do(func() { time.Sleep(500 * time.Millisecond) })
		total += len(p)
	}}
	// More than the SSH window (2 MiB), less than window + pipe buffer:
	// the command exits while the agent still holds unsent output.
	const size = 2150000
	res, err := gateway.ExecStream(ctx(t), c, gateway.ExecRequest{
		Command: []string{"head", "-c", "2150000", "/dev/zero"},
	}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if total != size || res.ExitCode != 0 {
		t.Errorf("got %d bytes, exit %d; want %d bytes", total, res.ExitCode, size)
	}
}
