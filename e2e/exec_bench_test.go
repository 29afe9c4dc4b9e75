package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// The exec benchmarks run on codepod/base (Debian, bash) when
// CODEPOD_TEST_BASE_IMAGE=1 — built with debootstrap if it is absent —
// and on codepod/tiny (busybox) otherwise; the image is in the name.
func benchImage(b *testing.B, c *cluster) string {
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		return "codepod/tiny:latest"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := images.EnsureBase(ctx, c.Docker, nil); err != nil {
		b.Fatalf("build the base image: %v", err)
	}
	return "codepod/base:latest"
}

// newBenchSandbox creates a sandbox of image with cpu cores and waits until
// it runs; it is deleted when b ends.
func newBenchSandbox(b *testing.B, c *cluster, name, image string, cpu float64) *sandbox {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var sb sandbox
	req := map[string]any{"name": name, "image": image, "memory": "256m", "cpu": cpu}
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", req, &sb, http.StatusCreated); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { deleteSandbox(b, c, sb.ID) })
	for sb.Status != "running" {
		if sb.Status == "error" || ctx.Err() != nil {
			b.Fatalf("sandbox %s is %s (%s)", name, sb.Status, sb.Reason)
		}
		time.Sleep(50 * time.Millisecond)
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &sb, http.StatusOK); err != nil {
			b.Fatal(err)
		}
	}
	return &sb
}

// sshLogin is an SSH token from the API and the host key to pin.
type sshLogin struct {
	Token              string `json:"token"`
	User               string `json:"user"`
	HostKeyFingerprint string `json:"host_key_fingerprint"`
}

func (c *cluster) sshLogin(ctx context.Context, tb testing.TB, sb *sandbox) *ssh.ClientConfig {
	var tok sshLogin
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/ssh-tokens", map[string]any{}, &tok, http.StatusCreated); err != nil {
		tb.Fatal(err)
	}
	return &ssh.ClientConfig{User: tok.User, Auth: []ssh.AuthMethod{ssh.Password(tok.Token)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != tok.HostKeyFingerprint {
				return fmt.Errorf("host key %s, want %s", got, tok.HostKeyFingerprint)
			}
			return nil
		}}
}

// sshClient runs an SSH handshake on conn.
func sshClient(tb testing.TB, conn net.Conn, cfg *ssh.ClientConfig) *ssh.Client {
	tb.Helper()
	cc, chans, reqs, err := ssh.NewClientConn(conn, "agent", cfg)
	if err != nil {
		conn.Close()
		tb.Fatal(err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	tb.Cleanup(func() { c.Close() })
	return c
}

// directAgent is an SSH connection straight to the sandbox's agent, dialled
// as the runner dials it (the container's network namespace), with no
// server, runner or tunnel in between: the agent's own speed.
func (c *cluster) directAgent(ctx context.Context, tb testing.TB, sb *sandbox) *ssh.Client {
	tb.Helper()
	conn, err := c.Docker.DialAgent(ctx, sb.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return sshClient(tb, conn, c.sshLogin(ctx, tb, sb))
}

// tunnelAgent is an SSH connection to the agent through the server's
// tunnel WebSocket and the runner: what `codepod ssh` uses.
func (c *cluster) tunnelAgent(ctx context.Context, tb testing.TB, sb *sandbox) *ssh.Client {
	tb.Helper()
	conn, err := sshws.Dial(ctx, c.URL+"/api/v1/sandboxes/"+sb.ID+"/tunnel",
		sshws.DialOptions{Header: http.Header{"Authorization": {"Bearer " + c.AdminKey}}})
	if err != nil {
		tb.Fatal(err)
	}
	return sshClient(tb, conn, c.sshLogin(ctx, tb, sb))
}

// sshTrue runs the line the gateway sends for ["true"] in a new session.
func sshTrue(c *ssh.Client) error {
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("exec true")
}

// restClient is an HTTP client that keeps enough idle connections for
// n concurrent callers.
func restClient(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n}}
}

func (c *cluster) restTrue(ctx context.Context, hc *http.Client, sb *sandbox) error {
	_, err := c.restTrueTiming(ctx, hc, sb)
	return err
}

// restTrueTiming runs ["true"] through REST and returns the answer's
// Server-Timing header.
func (c *cluster) restTrueTiming(ctx context.Context, hc *http.Client, sb *sandbox) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.URL+"/api/v1/sandboxes/"+sb.ID+"/exec", strings.NewReader(`{"command":["true"]}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && (resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"exit_code":0`)) {
		err = fmt.Errorf("exec: %d %s", resp.StatusCode, raw)
	}
	return resp.Header.Get("Server-Timing"), err
}

// serverTiming parses "name;dur=ms, …".
func serverTiming(h string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, part := range strings.Split(h, ",") {
		name, dur, ok := strings.Cut(strings.TrimSpace(part), ";dur=")
		if f, err := strconv.ParseFloat(dur, 64); ok && err == nil {
			out[name] = time.Duration(f * float64(time.Millisecond))
		}
	}
	return out
}

func (c *cluster) restGet(ctx context.Context, hc *http.Client, sb *sandbox) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.URL+"/api/v1/sandboxes/"+sb.ID, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("get: %d", resp.StatusCode)
	}
	return err
}

func (c *cluster) dockerTrue(ctx context.Context, sb *sandbox) error {
	cli := c.Docker.Client()
	id, err := cli.ContainerExecCreate(ctx, docker.ContainerName(sb.ID), container.ExecOptions{Cmd: []string{"true"}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return err
	}
	att, err := cli.ContainerExecAttach(ctx, id.ID, container.ExecAttachOptions{})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, att.Reader)
	att.Close()
	insp, err := cli.ContainerExecInspect(ctx, id.ID)
	if err == nil && insp.ExitCode != 0 {
		err = fmt.Errorf("docker exec true: exit %d", insp.ExitCode)
	}
	return err
}

// latencies collects one path's round trips.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkExecPath measures an exec of argv ["true"] along its path, each
// path once per iteration in turn (interleaved, so a busy machine slows
// all alike), and reports each one's p50 and p99:
//
//   - rest: POST /exec (HTTP → API → pooled SSH connection → tunnel →
//     runner → agent → process);
//   - tunnel: a new SSH session on a connection through the server's
//     tunnel WebSocket and the runner, no HTTP/API;
//   - direct: a new SSH session on a connection straight to the agent (the
//     agent's own speed: SSH channel and process);
//   - http: an authenticated GET of the sandbox (HTTP, auth, store lookup);
//   - docker: the Engine API's exec (create, attach, inspect), every 10th
//     iteration.
//
// The differences place an exec's time: rest−tunnel is HTTP and API,
// tunnel−direct the tunnel's hops, direct the agent's session and process.
// rest/direct is the ratio the issue bounds (≤ 1.1).
func BenchmarkExecPath(b *testing.B) {
	c := sharedCluster(b)
	image := benchImage(b, c)
	b.Logf("image %s", image)
	sb := newBenchSandbox(b, c, "bench-path", image, 1)
	ctx := context.Background()
	hc := restClient(4)
	direct := c.directAgent(ctx, b, sb)
	tunnel := c.tunnelAgent(ctx, b, sb)
	steps := map[string]latencies{}
	var clientOnly latencies // the client's round trip less the server's total
	paths := []struct {
		name string
		op   func() error
	}{
		{"rest", func() error {
			start := time.Now()
			h, err := c.restTrueTiming(ctx, hc, sb)
			took := time.Since(start)
			st := serverTiming(h)
			for k, v := range st {
				steps[k] = append(steps[k], v)
			}
			clientOnly = append(clientOnly, took-st["total"])
			return err
		}},
		{"tunnel", func() error { return sshTrue(tunnel) }},
		{"direct", func() error { return sshTrue(direct) }},
		{"http", func() error { return c.restGet(ctx, hc, sb) }},
		{"docker", func() error { return c.dockerTrue(ctx, sb) }},
	}
	lat := make([]latencies, len(paths))
	for range 20 { // warm every path
		for _, p := range paths[:4] {
			if err := p.op(); err != nil {
				b.Fatal(err)
			}
		}
	}
	i := 0
	for b.Loop() {
		for j, p := range paths {
			if p.name == "docker" && i%10 != 0 {
				continue
			}
			start := time.Now()
			if err := p.op(); err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			lat[j] = append(lat[j], time.Since(start))
		}
		i++
	}
	for j, p := range paths {
		b.ReportMetric(ms(lat[j].pct(0.5)), p.name+"-p50-ms")
		b.ReportMetric(ms(lat[j].pct(0.99)), p.name+"-p99-ms")
	}
	b.ReportMetric(float64(lat[0].pct(0.5))/float64(lat[2].pct(0.5)), "rest/direct-p50")
	// Where a REST exec's time goes (p50 of each step, Server-Timing).
	for _, k := range []string{"lookup", "admit", "conn", "channel", "start", "run", "total"} {
		if len(steps[k]) > 0 {
			b.ReportMetric(ms(steps[k].pct(0.5)), "rest-"+k+"-p50-ms")
		}
	}
	if len(clientOnly) > 0 {
		b.ReportMetric(ms(clientOnly.pct(0.5)), "rest-http-p50-ms")
	}
}

// BenchmarkExecConcurrent measures 50 callers running argv ["true"] at
// once, through REST and straight to the agent (50 sessions on one SSH
// connection, as the server's pool uses one), in alternating rounds of
// 500 execs, with a sandbox of 1 and of 2 CPUs; it reports execs/s of each
// and their ratio.
func BenchmarkExecConcurrent(b *testing.B) {
	c := sharedCluster(b)
	image := benchImage(b, c)
	for _, cpu := range []float64{1, 2} {
		b.Run(fmt.Sprintf("cpu=%g", cpu), func(b *testing.B) {
			sb := newBenchSandbox(b, c, fmt.Sprintf("bench-conc-%g", cpu), image, cpu)
			ctx := context.Background()
			const callers, perRound = 50, 500
			hc := restClient(callers)
			direct := c.directAgent(ctx, b, sb)
			round := func(op func() error) time.Duration {
				var left atomic.Int64
				left.Store(perRound)
				var wg sync.WaitGroup
				start := time.Now()
				for range callers {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if err := op(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				return time.Since(start)
			}
			rest := func() error { return c.restTrue(ctx, hc, sb) }
			dir := func() error { return sshTrue(direct) }
			round(rest) // warm: connections, pool
			round(dir)
			var restT, dirT time.Duration
			n := 0
			for b.Loop() {
				restT += round(rest)
				dirT += round(dir)
				n++
			}
			restRate := float64(n*perRound) / restT.Seconds()
			dirRate := float64(n*perRound) / dirT.Seconds()
			b.ReportMetric(restRate, "rest-execs/s")
			b.ReportMetric(dirRate, "direct-execs/s")
			b.ReportMetric(restRate/dirRate, "rest/direct")
		})
	}
}

// agentRSS is the VmRSS of the sandbox's agent (its container's first
// process), read from /proc.
func (c *cluster) agentRSS(ctx context.Context, tb testing.TB, sb *sandbox) uint64 {
	tb.Helper()
	insp, err := c.Docker.Client().ContainerInspect(ctx, docker.ContainerName(sb.ID))
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", insp.State.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS in the agent's status")
	return 0
}

// BenchmarkAgentRSS runs 10,000 execs of argv ["true"] through REST, 10 at
// a time, and reports the agent's VmRSS after 100 and after 10,000; it
// fails if the second exceeds the first by more than 2 MiB.
func BenchmarkAgentRSS(b *testing.B) {
	c := sharedCluster(b)
	image := benchImage(b, c)
	ctx := context.Background()
	round := 0
	for b.Loop() {
		round++
		sb := newBenchSandbox(b, c, fmt.Sprintf("bench-rss-%d", round), image, 1)
		hc := restClient(10)
		run := func(n int) {
			var left atomic.Int64
			left.Store(int64(n))
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if err := c.restTrue(ctx, hc, sb); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		run(100)
		at100 := c.agentRSS(ctx, b, sb)
		run(9900)
		at10k := c.agentRSS(ctx, b, sb)
		b.ReportMetric(float64(at100)/(1<<20), "rss-100-MiB")
		b.ReportMetric(float64(at10k)/(1<<20), "rss-10000-MiB")
		if at10k > at100+2<<20 {
			b.Errorf("agent RSS grew from %d KiB after 100 execs to %d KiB after 10,000", at100>>10, at10k>>10)
		}
	}
}
