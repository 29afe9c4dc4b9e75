package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// sandbox is the API's view of a sandbox, as far as the tests need it.
type sandbox struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Status             string `json:"status"`
	Reason             string `json:"reason"`
	HostKeyFingerprint string `json:"host_key_fingerprint"`
}

type execResult struct {
	ExitCode       int    `json:"exit_code"`
	Signal         string `json:"signal"`
	Stdout         string `json:"stdout"`
	Stderr         string `json:"stderr"`
	StdoutEncoding string `json:"stdout_encoding"`
}

// newSandbox creates a tiny sandbox, waits until it runs and deletes it
// when the test ends.
func newSandbox(tb testing.TB, c *cluster, name string) *sandbox {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"name": name, "image": "codepod/tiny:latest", "memory": "64m"}, &sb, http.StatusCreated); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { deleteSandbox(tb, c, sb.ID) })
	for sb.Status != "running" {
		if sb.Status == "error" || ctx.Err() != nil {
			tb.Fatalf("sandbox %s is %s (%s)", name, sb.Status, sb.Reason)
		}
		time.Sleep(100 * time.Millisecond)
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &sb, http.StatusOK); err != nil {
			tb.Fatal(err)
		}
	}
	return &sb
}

// deleteSandbox deletes a sandbox and waits until its runner removed it.
func deleteSandbox(tb testing.TB, c *cluster, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.call(ctx, "DELETE", "/api/v1/sandboxes/"+id, nil, nil, http.StatusOK); err != nil {
		tb.Error(err)
		return
	}
	for ctx.Err() == nil {
		status, _, _ := c.raw(ctx, "GET", "/api/v1/sandboxes/"+id, nil, "")
		if status == http.StatusNotFound {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Errorf("sandbox %s was not deleted in time", id)
}

func (c *cluster) exec(ctx context.Context, tb testing.TB, id string, req map[string]any) execResult {
	tb.Helper()
	var res execResult
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+id+"/exec", req, &res, http.StatusOK); err != nil {
		tb.Fatal(err)
	}
	return res
}

func TestSandboxEndToEnd(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-box")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("exec echo hi", func(t *testing.T) {
		res := c.exec(ctx, t, sb.ID, map[string]any{"command": []string{"echo", "hi"}})
		if res.Stdout != "hi\n" || res.ExitCode != 0 || res.StdoutEncoding != "utf-8" {
			t.Errorf("echo hi: %+v", res)
		}
	})
	t.Run("exit code passes", func(t *testing.T) {
		res := c.exec(ctx, t, sb.Name, map[string]any{"shell": "echo oops >&2; exit 3"})
		if res.ExitCode != 3 || res.Stderr != "oops\n" {
			t.Errorf("exit 3: %+v", res)
		}
	})
	t.Run("file upload and download", func(t *testing.T) { testFiles(ctx, t, c, sb) })
	t.Run("tunnel carries an SSH session", func(t *testing.T) { testTunnel(ctx, t, c, sb) })
	t.Run("50 concurrent execs", func(t *testing.T) { testConcurrentExecs(ctx, t, c, sb) })
	t.Run("streaming exec", func(t *testing.T) { testExecStream(ctx, t, c, sb) })
	t.Run("terminal", func(t *testing.T) { testTerminal(ctx, t, c, sb) })
	t.Run("stopped sandbox", func(t *testing.T) { testStopped(ctx, t, c) })
}

func testFiles(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) {
	data := make([]byte, 5<<20)
	rand.Read(data)
	q := "?path=" + url.QueryEscape("/tmp/e2e/sub/data.bin") + "&mode=0600"
	status, raw, err := c.raw(ctx, "PUT", "/api/v1/sandboxes/"+sb.ID+"/files"+q, bytes.NewReader(data), "application/octet-stream")
	if err != nil || status != http.StatusOK || !strings.Contains(string(raw), `"size":5242880`) {
		t.Fatalf("upload: %d %s %v", status, raw, err)
	}
	status, raw, err = c.raw(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/files?path=/tmp/e2e/sub/data.bin", nil, "")
	if err != nil || status != http.StatusOK || !bytes.Equal(raw, data) {
		t.Fatalf("download: %d, %d bytes, equal %v, %v", status, len(raw), bytes.Equal(raw, data), err)
	}
	res := c.exec(ctx, t, sb.ID, map[string]any{"shell": "stat -c %a /tmp/e2e/sub/data.bin"})
	if res.Stdout != "600\n" {
		t.Errorf("mode in the sandbox: %q, want 600", res.Stdout)
	}
	status, raw, _ = c.raw(ctx, "GET", "/api/v1/sandboxes/"+sb.ID+"/files?path=/tmp/e2e/missing", nil, "")
	if status != http.StatusNotFound || !strings.Contains(string(raw), "path /tmp/e2e/missing not found in sandbox") {
		t.Errorf("missing file: %d %s", status, raw)
	}
}

// testTunnel runs an SSH session over the tunnel WebSocket, pinning the
// host key the server reports and logging in with a token from the API.
func testTunnel(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) {
	var tok struct {
		Token              string `json:"token"`
		User               string `json:"user"`
		HostKeyFingerprint string `json:"host_key_fingerprint"`
	}
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ssh-tokens", map[string]any{}, &tok, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	if tok.HostKeyFingerprint == "" || tok.HostKeyFingerprint != sb.HostKeyFingerprint {
		t.Fatalf("token fingerprint %q, sandbox %q", tok.HostKeyFingerprint, sb.HostKeyFingerprint)
	}
	conn, err := sshws.Dial(ctx, c.URL+"/api/v1/sandboxes/"+sb.ID+"/tunnel",
		sshws.DialOptions{Header: http.Header{"Authorization": {"Bearer " + c.AdminKey}}})
	if err != nil {
		t.Fatal(err)
	}
	pinned := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if got := ssh.FingerprintSHA256(key); got != tok.HostKeyFingerprint {
			return fmt.Errorf("host key %s, want %s", got, tok.HostKeyFingerprint)
		}
		return nil
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, sb.ID, &ssh.ClientConfig{User: tok.User, Auth: []ssh.AuthMethod{ssh.Password(tok.Token)}, HostKeyCallback: pinned})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	client := ssh.NewClient(cc, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput("echo over the tunnel; cat /.codepod/etc/sandbox_id")
	if err != nil || string(out) != "over the tunnel\n"+sb.ID+"\n" {
		t.Errorf("ssh session: %q, %v", out, err)
	}
}

func testConcurrentExecs(ctx context.Context, t *testing.T, c *cluster, sb *sandbox) {
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			var res execResult
			req := map[string]any{"command": []string{"sh", "-c", `echo "out-$1"; exit $2`, "sh", fmt.Sprint(i), fmt.Sprint(i % 4)}}
			if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", req, &res, http.StatusOK); err != nil {
				t.Error(err)
				return
			}
			if res.Stdout != fmt.Sprintf("out-%d\n", i) || res.ExitCode != i%4 {
				t.Errorf("exec %d: %+v", i, res)
			}
		})
	}
	wg.Wait()
}

// testStopped: a stopped sandbox's exec and tunnel are refused with a
// message that says what to do.
func testStopped(ctx context.Context, t *testing.T, c *cluster) {
	sb := newSandbox(t, c, "e2e-stopped")
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/stop", nil, nil, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	for sb.Status != "stopped" && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, sb, http.StatusOK)
	}
	status, raw, _ := c.raw(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", strings.NewReader(`{"command":["true"]}`), "application/json")
	if status != http.StatusConflict || !strings.Contains(string(raw), "is stopped; start it first") {
		t.Errorf("exec in a stopped sandbox: %d %s", status, raw)
	}
}
