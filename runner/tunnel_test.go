package runner_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codepod-dev/codepod/runner"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
	"github.com/codepod-dev/codepod/wire"
)

// tunnelServer accepts the runner's dial-back and hands the server's end
// to the test; the handler lives until that end is closed.
func tunnelServer(t *testing.T) (*httptest.Server, <-chan net.Conn) {
	conns := make(chan net.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer cpr_test" || !strings.HasPrefix(r.URL.Path, "/api/v1/runners/tunnels/") {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := sshws.Accept(w, r, sshws.AcceptOptions{})
		if err != nil {
			return
		}
		done := make(chan struct{})
		conns <- closeNotify{c, done, &sync.Once{}}
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv, conns
}

type closeNotify struct {
	net.Conn
	done chan struct{}
	once *sync.Once
}

// Close may be called more than once (an SSH client closes on failure).
func (c closeNotify) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// echoAgent stands in for an agent: it echoes what it reads. It returns
// the dial function a Tunnel carries.
func echoAgent(t *testing.T) func(context.Context) (net.Conn, error) {
	dir, err := os.MkdirTemp("", "cpt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return dialUnix(sock)
}

func dialUnix(path string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}
}

func tunnelFor(srv *httptest.Server, dial func(context.Context) (net.Conn, error)) runner.Tunnel {
	j := wire.Job{ID: "job_t", Kind: wire.KindTunnel, SandboxID: "sb_t", Tunnel: &wire.TunnelPayload{TunnelID: "tun_1", Path: "/api/v1/runners/tunnels/tun_1"}}
	return runner.Tunnel{Job: j, URL: srv.URL + j.Tunnel.Path, Header: http.Header{"Authorization": {"Bearer cpr_test"}}, DialAgent: dial}
}

func TestWSTunnelerSplicesTheDialBackToTheAgent(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last
	srv, conns := tunnelServer(t)
	dial := echoAgent(t)
	w := runner.NewWSTunneler(nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.OpenTunnel(ctx, tunnelFor(srv, dial)); err != nil {
		t.Fatal(err)
	}
	c := <-conns
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v: the bytes did not travel through the agent", buf, err)
	}
	cancel() // the runner stops: its tunnels end
	if _, err := c.Read(buf); err == nil {
		t.Error("the server's end still reads data after the runner stopped")
	}
	done := make(chan struct{})
	go func() { w.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the context ended")
	}
	c.Close()
	srv.Close()
}

func TestWSTunnelerReportsAnUnreachableAgent(t *testing.T) {
	srv, conns := tunnelServer(t)
	readErr := make(chan error, 1)
	go func() { // the server reads, as its splice would
		c := <-conns
		defer c.Close()
		_, err := c.Read(make([]byte, 1))
		readErr <- err
	}()
	w := runner.NewWSTunneler(nil)
	err := w.OpenTunnel(context.Background(), tunnelFor(srv, dialUnix(filepath.Join(t.TempDir(), "missing.sock"))))
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("OpenTunnel: %v, want the agent reported unreachable", err)
	}
	var ce *sshws.CloseError
	if err := <-readErr; !errors.As(err, &ce) || ce.Code != runner.CloseAgentUnreachable || !strings.Contains(ce.Reason, "sb_t") {
		t.Fatalf("the server read %v, want close status 4502 naming the sandbox", err)
	}
	w.Wait()
}

func TestWSTunnelerDialBackRefused(t *testing.T) {
	srv, _ := tunnelServer(t)
	tun := tunnelFor(srv, echoAgent(t))
	tun.Header = http.Header{"Authorization": {"Bearer wrong"}}
	err := runner.NewWSTunneler(nil).OpenTunnel(context.Background(), tun)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("OpenTunnel with a refused credential: %v", err)
	}
}

// TestTunnelJobsRefreshAuthorizedKeys: a tunnel job carries the owner's
// keys as the server knows them now; the runner writes them where the
// agent reads them before it connects the tunnel.
func TestTunnelJobsRefreshAuthorizedKeys(t *testing.T) {
	b := dockerBackend(t)
	called := false
	r := handleRunner(t, b, func(cfg *runner.Config) {
		cfg.Tunnels = tunnelFunc(func(context.Context, runner.Tunnel) error { called = true; return nil })
	})
	etc := filepath.Join(r.SandboxDir("sb_k"), "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	keys := []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo two"}
	j := wire.Job{ID: "job_k", Kind: wire.KindTunnel, SandboxID: "sb_k",
		Tunnel: &wire.TunnelPayload{TunnelID: "tun_k", Path: "/api/v1/runners/tunnels/tun_k", AuthorizedKeys: keys}}
	if res := r.Handle(t.Context(), j, nil); !res.OK || !called {
		t.Fatalf("tunnel job: %+v (tunneler called: %v)", res, called)
	}
	b2, err := os.ReadFile(filepath.Join(etc, runner.FileAuthorizedKeys))
	if err != nil || string(b2) != strings.Join(keys, "\n")+"\n" {
		t.Fatalf("authorized_keys = %q, %v", b2, err)
	}
	j.Tunnel.AuthorizedKeys = nil // the owner removed them
	r.Handle(t.Context(), j, nil)
	if b2, _ := os.ReadFile(filepath.Join(etc, runner.FileAuthorizedKeys)); len(b2) != 0 {
		t.Fatalf("authorized_keys after the keys were removed: %q", b2)
	}
}
