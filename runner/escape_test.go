package runner_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

// TestAttackSymlinkedAgentSocketThenATunnel is issue 8's escape as the
// tenant ran it, through the runner: root in the sandbox swaps the agent's
// socket for a symlink to the host's Docker socket (a stand-in the test
// listens on), then asks for a tunnel. The runner's tunnel reaches the real
// agent (its host key is the pinned one) and the host socket sees nothing.
func TestAttackSymlinkedAgentSocketThenATunnel(t *testing.T) {
	b := dockerBackend(t)
	srv, conns := tunnelServer(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	created := mustHandle(t, r, job(wire.KindCreate, p))

	dir, err := os.MkdirTemp("", "cpx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	fake := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", fake)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var hits atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Write([]byte("HTTP/1.0 200 OK\r\nServer: Docker/fake\r\n\r\n"))
			c.Close()
		}
	}()
	mustExec(t, docker.ContainerName(p.ID), "sh", "-c",
		"ln -s "+fake+" /.codepod/run/x && mv -f /.codepod/run/x /.codepod/run/agent.sock")

	tun := tunnelJob(time.Minute)
	tun.SandboxID = p.ID
	tun.Tunnel.URL = srv.URL + tun.Tunnel.Path
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if res := r.Handle(ctx, tun, nil); !res.OK {
		t.Fatalf("tunnel job: %+v", res)
	}
	c := <-conns // closed by the SSH client below
	c.SetDeadline(time.Now().Add(10 * time.Second))
	matched := false
	cfg := &ssh.ClientConfig{User: "root", HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
		matched = ssh.FingerprintSHA256(key) == created.HostKeyFingerprint
		return nil
	}}
	if sc, _, _, err := ssh.NewClientConn(c, "agent", cfg); err == nil {
		sc.Close()
	}
	if !matched {
		t.Fatal("the tunnel did not reach the agent with the pinned host key")
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the host's stand-in Docker socket got %d connections through the tunnel", n)
	}
}
