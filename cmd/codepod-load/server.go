package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a `codepod server` subprocess on a loopback port.
type server struct {
	cmd      *exec.Cmd
	url      string
	adminKey string
	dataDir  string
}

// startServer starts bin as a server on 127.0.0.1 with a new data
// directory, no per-user quota (the load is one user's) and logs at warn,
// and waits until it answers /healthz.
func startServer(ctx context.Context, bin, dbURL string, logs io.Writer) (*server, error) {
	dir, err := os.MkdirTemp("", "codepod-load-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"server", "--addr", "127.0.0.1:" + port, "--data-dir", dir, "--log-level", "warn",
		"--quota-sandboxes", "0", "--quota-cpu", "0", "--quota-memory", "0"}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	s := &server{url: "http://127.0.0.1:" + port, dataDir: dir}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logs, logs
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	key, err := os.ReadFile(filepath.Join(dir, "admin-api-key"))
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("read admin key: %w", err)
	}
	s.adminKey = strings.TrimSpace(string(key))
	return s, nil
}

func (s *server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not ready at %s: %w", s.url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 10s) and removes its
// data directory.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(s.dataDir)
}

// rss is the server process's resident set size in bytes.
func (s *server) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", s.cmd.Process.Pid)
}

// goroutines reads go_goroutines from the server's /metrics.
func (s *server) goroutines(ctx context.Context) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines in /metrics")
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}
