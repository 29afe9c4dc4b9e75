package e2e_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// serverProcess is `codepod server` run as a process of its own, as a
// user runs it: TestWebUI kills it and starts it again on the same
// database and port.
type serverProcess struct {
	t    *testing.T
	bin  string
	args []string
	cmd  *exec.Cmd
	out  testenv.Buffer // every run's output, shown when the test fails
	URL  string
	// waited yields the running command's Wait.
	waited chan error
}

// startServerCluster starts `codepod server` (SQLite in a fresh data dir,
// a free loopback port) and a runner in this process on the local Docker
// Engine, which retries the server at most a second apart while it is
// away. The cluster is closed when the test ends.
func startServerCluster(t *testing.T) (*cluster, *serverProcess) {
	t.Helper()
	testenv.Docker(t)
	agent := testenv.AgentBinary(t)
	bins, err := testenv.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cpw") // short: agent socket paths live below it
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{dir: dir, HTTP: &http.Client{}, backoff: time.Second}
	c.stop = append(c.stop, func() { os.RemoveAll(dir) })
	t.Cleanup(c.close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &serverProcess{t: t, bin: filepath.Join(bins, "codepod"), URL: "http://" + addr,
		args: []string{"server", "--addr", addr, "--data-dir", dir}}
	s.start()
	c.stop = append(c.stop, s.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- codepod server output ---\n%s", s.out.String())
		}
	})
	c.URL = s.URL
	key, err := os.ReadFile(filepath.Join(dir, "admin-api-key"))
	if err != nil {
		t.Fatalf("the admin key: %v", err)
	}
	c.AdminKey = strings.TrimSpace(string(key))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CODEPOD_E2E_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := c.startRunner(agent, log); err != nil {
		t.Fatal(err)
	}
	return c, s
}

// start runs the server and waits until it answers /healthz.
func (s *serverProcess) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "CODEPOD_") && k != "DATABASE_URL" && !strings.HasSuffix(strings.ToUpper(k), "_PROXY") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start codepod server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	hc := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if r, err := hc.Get(s.URL + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			s.t.Fatalf("codepod server exited (%v):\n%s", err, s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("codepod server did not answer /healthz in 60 s:\n%s", s.out.String())
		}
	}
	s.waited = exited
}

// restart kills the server (SIGKILL: no graceful shutdown, every
// connection dropped at once) and starts it again on the same database
// and port.
func (s *serverProcess) restart() {
	s.t.Helper()
	s.cmd.Process.Kill()
	<-s.waited
	fmt.Fprintf(&s.out, "--- killed; starting again ---\n")
	s.start()
}

// stop ends the server: SIGTERM, then SIGKILL after 20 s.
func (s *serverProcess) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.waited
	}
}
