package e2e_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
	"github.com/codepod-dev/codepod/wire"
)

// sshOverTunnel opens the sandbox's tunnel and an SSH client on it.
func sshOverTunnel(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) *ssh.Client {
	t.Helper()
	var tok struct{ Token, User string }
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ssh-tokens", map[string]any{}, &tok, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	conn, err := sshws.Dial(ctx, c.URL+"/api/v1/sandboxes/"+sb.ID+"/tunnel",
		sshws.DialOptions{Header: http.Header{"Authorization": {"Bearer " + c.AdminKey}}})
	if err != nil {
		t.Fatal(err)
	}
	pinned := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if ssh.FingerprintSHA256(key) != sb.HostKeyFingerprint {
			return errors.New("host key does not match")
		}
		return nil
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, sb.ID, &ssh.ClientConfig{User: tok.User, Auth: []ssh.AuthMethod{ssh.Password(tok.Token)}, HostKeyCallback: pinned})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	return ssh.NewClient(cc, chans, reqs)
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestTunnelsLeaveNothingBehind opens and closes many tunnels (server and
// runner run in this process) and checks the file descriptors come back;
// goroutines are checked by TestMain's leak check.
func TestTunnelsLeaveNothingBehind(t *testing.T) {
	c := sharedCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb := newSandbox(t, c, "e2e-fds")
	warm := sshOverTunnel(ctx, t, c, sb)
	warm.Close()
	time.Sleep(500 * time.Millisecond)
	before := openFDs(t)
	for i := 0; i < 20; i++ {
		client := sshOverTunnel(ctx, t, c, sb)
		if out, err := session(client, "echo $((20+22))"); err != nil || out != "42\n" {
			t.Fatalf("tunnel %d: %q, %v", i, out, err)
		}
		client.Close() // the client's end: the server's and the runner's ends must follow
	}
	deadline := time.Now().Add(10 * time.Second)
	for openFDs(t) > before+2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if after := openFDs(t); after > before+2 {
		t.Fatalf("%d file descriptors open after 20 closed tunnels, %d before", after, before)
	}
}

func session(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// TestTunnelClosesWhenTheSandboxEnds: stopping the sandbox (the agent's end)
// closes the client's end of an open tunnel.
func TestTunnelClosesWhenTheSandboxEnds(t *testing.T) {
	c := sharedCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb := newSandbox(t, c, "e2e-tunnel-end")
	client := sshOverTunnel(ctx, t, c, sb)
	defer client.Close()
	ended := make(chan error, 1)
	go func() { ended <- client.Wait() }()
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/stop", nil, nil, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the client's SSH connection is still open 30s after its sandbox stopped")
	}
}

// TestTunnelToASilentRunner: a sandbox whose runner never answers the tunnel
// job gets a WebSocket close with code 4504 and a reason, not a hang.
func TestTunnelToASilentRunner(t *testing.T) {
	c := sharedCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb := mutedSandbox(ctx, t, c)
	conn, err := sshws.Dial(ctx, c.URL+"/api/v1/sandboxes/"+sb+"/tunnel",
		sshws.DialOptions{Header: http.Header{"Authorization": {"Bearer " + c.AdminKey}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ce *sshws.CloseError
	if !errors.As(err, &ce) || ce.Code != 4504 || !strings.Contains(ce.Reason, "runner") {
		t.Fatalf("read from a tunnel nobody answers: %v; want close 4504 naming the runner", err)
	}
}

// mutedSandbox makes a sandbox "running" on a runner that registers, takes
// the create job, reports success, and then never polls again.
func mutedSandbox(ctx context.Context, t *testing.T, c *cluster) string {
	t.Helper()
	var tok struct{ Token string }
	if err := c.call(ctx, "POST", "/api/v1/runner-tokens", map[string]any{}, &tok, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	mute := &cluster{URL: c.URL, HTTP: c.HTTP, AdminKey: tok.Token}
	var reg wire.RegisterResponse
	if err := mute.call(ctx, "POST", "/api/v1/runners/register", wire.RegisterRequest{Name: "mute", Labels: map[string]string{"mute": "yes"}}, &reg, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.call(context.Background(), "DELETE", "/api/v1/runners/"+reg.RunnerID, nil, nil, http.StatusNoContent)
	})
	mute.AdminKey = reg.Credential
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"name": "e2e-muted", "image": "codepod/tiny:latest", "runner_labels": map[string]string{"mute": "yes"}}, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	var poll wire.PollResponse
	if err := mute.call(ctx, "POST", "/api/v1/runners/poll", wire.PollRequest{WaitSeconds: 5}, &poll, http.StatusOK); err != nil || len(poll.Jobs) != 1 {
		t.Fatalf("mute runner's poll: %v, %d jobs", err, len(poll.Jobs))
	}
	res := wire.JobResult{OK: true, HostKeyFingerprint: "SHA256:muted"}
	if err := mute.call(ctx, "POST", "/api/v1/runners/jobs/"+poll.Jobs[0].ID+"/result", res, nil, http.StatusNoContent); err != nil {
		t.Fatal(err)
	}
	return sb.ID
}
