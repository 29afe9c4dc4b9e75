package main_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/internal/sandboxssh"
	"github.com/codepod-dev/codepod/runner/docker"
)

// The benchmarks run against a real server, a real runner and the real
// Docker Engine (codepod/tiny), like the end-to-end tests:
//
//	go test -run '^$' -bench 'CreateToRunning|FirstExec|TunnelThroughput' -benchtime 5x ./cmd/codepod/

// benchCluster starts a server and a runner without a sandbox limit and
// returns them with the runner's state directory and a first running
// sandbox (so the runner is registered and polling, and Docker is warm).
func benchCluster(b *testing.B) (*cluster, string, apiSandbox) {
	b.Helper()
	c := newCluster(b, longRunnerTimeout...)
	state := b.TempDir()
	c.startRunner("bench", state, "--capacity-sandboxes", "-1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := c.createSandboxAPI(ctx, tinySpec, 20*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	return c, state, sb
}

// deleteAll deletes the sandboxes the benchmark made, off the clock.
func deleteAll(b *testing.B, c *cluster, ids []string) {
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range ids {
		c.api(ctx, "DELETE", "/api/v1/sandboxes/"+id, nil, nil)
	}
}

var tinySpec = map[string]any{"image": "codepod/tiny:latest", "memory": "64m"}

// BenchmarkCreateToRunning measures POST /sandboxes until GET says
// running (polled every 20 ms).
func BenchmarkCreateToRunning(b *testing.B) {
	c, _, _ := benchCluster(b)
	ctx := context.Background()
	var ids []string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sb, err := c.createSandboxAPI(ctx, tinySpec, 20*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, sb.ID)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	deleteAll(b, c, ids)
}

// BenchmarkCreateWaitToFirstExec measures create, wait until running, and
// the first REST exec of `true` (which opens the server's pooled SSH
// connection through a fresh tunnel).
func BenchmarkCreateWaitToFirstExec(b *testing.B) {
	c, _, _ := benchCluster(b)
	ctx := context.Background()
	var ids []string
	var toExec time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sb, err := c.createSandboxAPI(ctx, tinySpec, 20*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, sb.ID)
		began := time.Now()
		var res execResult
		status, raw, err := c.api(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", execRequest{Command: []string{"true"}}, &res)
		if err != nil || status != http.StatusOK || res.ExitCode != 0 {
			b.Fatalf("first exec: %d %v: %s", status, err, raw)
		}
		toExec += time.Since(began)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64(toExec.Milliseconds())/float64(b.N), "first-exec-ms/op")
	deleteAll(b, c, ids)
}

// BenchmarkTunnelThroughput writes 64 MiB per op into `cat > /dev/null`
// over SSH, through the tunnel (client → server → runner → agent, two
// WebSocket hops) and directly to the agent, dialed as the runner does
// (from inside the container's network namespace), in the same run.
func BenchmarkTunnelThroughput(b *testing.B) {
	c, _, sb := benchCluster(b)
	engine, err := docker.New(docker.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	dials := map[string]func(token string) (*ssh.Client, error){
		"tunnel": func(token string) (*ssh.Client, error) {
			return sandboxssh.Dial(context.Background(), sandboxssh.Target{
				ServerURL: c.URL, APIKey: c.AdminKey, SandboxID: sb.ID, HostKeyFingerprint: sb.HostKey,
				Auth: []ssh.AuthMethod{ssh.Password(token)},
			})
		},
		"direct": func(token string) (*ssh.Client, error) {
			conn, err := engine.DialAgent(context.Background(), sb.ID)
			if err != nil {
				return nil, err
			}
			cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password(token)},
				HostKeyCallback: sandboxssh.PinnedHostKey(sb.HostKey)}
			sc, chans, reqs, err := ssh.NewClientConn(conn, sb.ID, cfg)
			if err != nil {
				return nil, err
			}
			return ssh.NewClient(sc, chans, reqs), nil
		},
	}
	for _, name := range []string{"tunnel", "direct"} {
		b.Run(name, func(b *testing.B) {
			var tok struct{ Token string }
			c.mustAPI("POST", "/api/v1/sandboxes/"+sb.ID+"/ssh-tokens", map[string]any{}, &tok, http.StatusCreated)
			sc, err := dials[name](tok.Token)
			if err != nil {
				b.Fatalf("ssh %s: %v", name, err)
			}
			defer sc.Close()
			benchSink(b, sc, 64<<20)
		})
	}
}

// benchSink writes n bytes per op into a new session's `cat > /dev/null`.
func benchSink(b *testing.B, sc *ssh.Client, n int64) {
	chunk := make([]byte, 256<<10)
	b.SetBytes(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := sc.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		in, _ := s.StdinPipe()
		if err := s.Start("cat > /dev/null"); err != nil {
			b.Fatal(err)
		}
		for left := n; left > 0; left -= int64(len(chunk)) {
			if _, err := in.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
				b.Fatalf("write: %v", err)
			}
		}
		in.Close()
		if err := s.Wait(); err != nil {
			b.Fatalf("cat: %v", err)
		}
		s.Close()
	}
}
