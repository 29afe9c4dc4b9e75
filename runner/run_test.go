package runner_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

// fastConfig is a runner config against f with short timings.
func fastConfig(t *testing.T, f *fakeServer, b *docker.Backend, stateDir string) runner.Config {
	return runner.Config{
		Server: f.URL, Token: f.token, StateDir: stateDir, Name: "test-runner",
		AgentBinary: testenv.AgentBinary(t), Backend: b, HTTPClient: &http.Client{Transport: &http.Transport{}},
		PollWait: time.Second, ReconcileInterval: 300 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
		ProgressInterval: 100 * time.Millisecond, StopTimeout: 2 * time.Second,
	}
}

// running is a Runner started in the background.
type running struct {
	r      *runner.Runner
	cancel context.CancelFunc
	done   chan error
}

func startRunner(t *testing.T, cfg runner.Config) *running {
	t.Helper()
	r, err := runner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.stop(t) })
	return rr
}

// stop cancels Run and waits for it; it returns Run's error.
func (rr *running) stop(t *testing.T) error {
	t.Helper()
	rr.cancel()
	select {
	case err := <-rr.done:
		rr.done <- err // keep it for a second stop
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// noLeaks closes idle connections and checks no goroutine outlived the test.
func noLeaks(t *testing.T, f *fakeServer, cfg runner.Config, b *docker.Backend, opts ...goleak.Option) {
	t.Helper()
	f.Close()
	cfg.HTTPClient.CloseIdleConnections()
	b.Close() // closes idle connections; the client stays usable
	goleak.VerifyNone(t, opts...)
}

func TestNewNeedsATokenTheFirstTime(t *testing.T) {
	b := dockerBackend(t)
	cfg := runner.Config{Server: "http://127.0.0.1:9", StateDir: t.TempDir(), AgentBinary: testenv.AgentBinary(t), Backend: b}
	if _, err := runner.New(cfg); err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("New without state or token: %v", err)
	}
	cfg.AgentBinary = "/nonexistent/codepod-agent"
	cfg.Token = "cpt_x"
	if _, err := runner.New(cfg); err == nil || !strings.Contains(err.Error(), "agent binary") {
		t.Fatalf("New with a missing agent binary: %v", err)
	}
}

func TestRegistersOnceAndResumesItsIdentity(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	f := newFakeServer(t)
	b := dockerBackend(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := fastConfig(t, f, b, stateDir)

	first := startRunner(t, cfg)
	waitFor(t, 10*time.Second, "the first poll", func() bool { return len(f.pollsSeen()) >= 1 })
	if err := first.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	assertMode(t, stateDir, 0o700|os.ModeDir)
	assertMode(t, filepath.Join(stateDir, "runner.json"), 0o600)
	st, err := runner.LoadState(stateDir)
	if err != nil || st.RunnerID == "" || st.Credential == "" {
		t.Fatalf("state after registration: %+v, %v", st, err)
	}

	// A restart with the same state, and without the token, is the same runner.
	cfg.Token = ""
	before := len(f.pollsSeen())
	second := startRunner(t, cfg)
	waitFor(t, 10*time.Second, "a poll after the restart", func() bool { return len(f.pollsSeen()) > before })
	if err := second.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := f.registrations.Load(); n != 1 {
		t.Fatalf("%d registrations, want 1", n)
	}
	polls := f.pollsSeen()
	for _, p := range polls {
		if p.RunnerID != st.RunnerID {
			t.Fatalf("poll as %s, want %s", p.RunnerID, st.RunnerID)
		}
	}
	checkHeartbeat(t, b, polls[0].Req)
	checkHeartbeat(t, b, polls[before].Req)
	noLeaks(t, f, cfg, b, leaks)
}

// checkHeartbeat wants the first poll after a start to reconcile and to
// carry the default capacity.
func checkHeartbeat(t *testing.T, b *docker.Backend, req wire.PollRequest) {
	t.Helper()
	mem, err := b.MemoryBytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !req.Reconcile || req.WaitSeconds != 1 || req.MaxJobs < 1 {
		t.Errorf("first poll: reconcile %v, wait %d, max jobs %d", req.Reconcile, req.WaitSeconds, req.MaxJobs)
	}
	if !slices.Contains(req.Runtimes, "runc") {
		t.Errorf("heartbeat runtimes %v, want at least runc", req.Runtimes)
	}
	if req.Capacity.Sandboxes != 20 || req.Capacity.MemoryBytes != mem*80/100 {
		t.Errorf("capacity %+v, want 20 sandboxes and %d bytes (80%% of %d)", req.Capacity, mem*80/100, mem)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil || st.Mode()&(os.ModeDir|os.ModePerm) != want {
		t.Fatalf("%s: mode %v (%v), want %v", path, st.Mode(), err, want)
	}
}

func TestRegistrationWithABadTokenFails(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	cfg.Token = "cpt_wrong"
	rr := startRunner(t, cfg)
	select {
	case err := <-rr.done:
		if err == nil || !strings.Contains(err.Error(), "registration token is wrong") {
			t.Fatalf("Run with a bad token: %v", err)
		}
		rr.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going with a rejected token")
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "runner.json")); !os.IsNotExist(err) {
		t.Fatalf("state written after a failed registration: %v", err)
	}
}

func TestBacksOffWhileTheServerIsAwayAndRecovers(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	rr := startRunner(t, cfg)
	waitFor(t, 10*time.Second, "the first poll", func() bool { return len(f.pollsSeen()) >= 1 })

	f.down.Store(true)
	time.Sleep(2500 * time.Millisecond)
	f.down.Store(false)
	dropped := f.droppedPolls.Load()
	// 2.5s with waits growing from ~125ms to the 300ms cap: about ten tries.
	// Far more would be a busy loop, none would be no retrying at all.
	if dropped < 3 || dropped > 30 {
		t.Fatalf("%d polls while the server was away, want a backed-off handful", dropped)
	}
	up := time.Now()
	waitFor(t, 5*time.Second, "a poll after the server came back", func() bool {
		polls := f.pollsSeen()
		return polls[len(polls)-1].At.After(up)
	})
	if err := rr.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	noLeaks(t, f, cfg, b, leaks)
}

func TestARejectedCredentialStopsTheRunner(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	rr := startRunner(t, cfg)
	waitFor(t, 10*time.Second, "the first poll", func() bool { return len(f.pollsSeen()) >= 1 })
	f.rejectPolls.Store(true)
	select {
	case err := <-rr.done:
		if err == nil || !strings.Contains(err.Error(), "rejected this runner's credential") {
			t.Fatalf("Run after the credential was revoked: %v", err)
		}
		rr.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept polling with a rejected credential")
	}
}

func TestJobsRoundTripAndReconcile(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	rr := startRunner(t, cfg)
	t.Cleanup(func() { removeRunnerContainers(t, b, rr.r.ID()) })
	p := payload(randID("sb_"))

	create := job(wire.KindCreate, p)
	f.enqueue(create)
	res := f.waitResult(t, create.ID, time.Minute)
	if !res.OK || !strings.HasPrefix(res.HostKeyFingerprint, "SHA256:") || res.ContainerID == "" {
		t.Fatalf("create result %+v", res)
	}
	waitInventory(t, f, p.ID, wire.StateRunning, res.HostKeyFingerprint)

	stop := job(wire.KindStop, p)
	f.enqueue(stop)
	if res := f.waitResult(t, stop.ID, time.Minute); !res.OK {
		t.Fatalf("stop result %+v", res)
	}
	waitInventory(t, f, p.ID, wire.StateStopped, res.HostKeyFingerprint)

	// Two jobs for one sandbox in one delivery run in order: start, then delete.
	start, del := job(wire.KindStart, p), job(wire.KindDelete, p)
	f.enqueue(start, del)
	if res := f.waitResult(t, start.ID, time.Minute); !res.OK {
		t.Fatalf("start result %+v", res)
	}
	if res := f.waitResult(t, del.ID, time.Minute); !res.OK {
		t.Fatalf("delete result %+v", res)
	}
	waitInventory(t, f, p.ID, "", "")
	if n := countContainers(t, b, p.ID); n != 0 {
		t.Fatalf("%d containers after delete", n)
	}
	if err := rr.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	noLeaks(t, f, cfg, b, leaks)
}

// waitInventory waits for a reconcile poll that lists sandbox id in state
// ("" for absent) with the fingerprint.
func waitInventory(t *testing.T, f *fakeServer, id, state, fp string) {
	t.Helper()
	since := time.Now()
	waitFor(t, 10*time.Second, "a reconcile poll with "+id+" "+state, func() bool {
		for _, p := range f.pollsSeen() {
			if !p.At.After(since) || !p.Req.Reconcile {
				continue
			}
			i := slices.IndexFunc(p.Req.Sandboxes, func(s wire.SandboxState) bool { return s.ID == id })
			if state == "" && i < 0 {
				return true
			}
			if i >= 0 && p.Req.Sandboxes[i].State == state && p.Req.Sandboxes[i].HostKeyFingerprint == fp {
				return true
			}
		}
		return false
	})
}

// tunnelFunc is a Tunneler made of a function.
type tunnelFunc func(ctx context.Context, t runner.Tunnel) error

func (f tunnelFunc) OpenTunnel(ctx context.Context, t runner.Tunnel) error { return f(ctx, t) }

func tunnelJob(lease time.Duration) wire.Job {
	id := randID("tun_")
	return wire.Job{ID: randID("job_"), Kind: wire.KindTunnel, SandboxID: "sb_t", Attempt: 1,
		LeaseExpiresAt: time.Now().Add(lease), Tunnel: &wire.TunnelPayload{TunnelID: id, Path: "/api/v1/runners/tunnels/" + id}}
}

func TestLongJobsKeepTheirLeaseAndTunnelsGetWhatTheyNeed(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	var got runner.Tunnel
	cfg.Tunnels = tunnelFunc(func(ctx context.Context, tun runner.Tunnel) error {
		got = tun
		time.Sleep(1600 * time.Millisecond)
		return nil
	})
	startRunner(t, cfg)
	j := tunnelJob(1500 * time.Millisecond)
	f.enqueue(j)
	if res := f.waitResult(t, j.ID, 10*time.Second); !res.OK {
		t.Fatalf("tunnel result %+v", res)
	}
	// A 1.5s lease is renewed every 500ms: the job outlived it twice over.
	if n := len(f.progressOf(j.ID)); n < 2 {
		t.Errorf("%d progress reports during a job longer than its lease, want at least 2", n)
	}
	st, _ := runner.LoadState(cfg.StateDir)
	if got.URL != f.URL+j.Tunnel.Path || got.Header.Get("Authorization") != "Bearer "+st.Credential || got.HTTPClient == nil || got.DialAgent == nil {
		t.Errorf("tunnel got %+v", got)
	}
}

func TestAJobFinishingDuringShutdownIsStillReported(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	started := make(chan struct{})
	cfg.Tunnels = tunnelFunc(func(ctx context.Context, tun runner.Tunnel) error {
		close(started)
		time.Sleep(800 * time.Millisecond)
		return nil
	})
	rr := startRunner(t, cfg)
	j := tunnelJob(time.Minute)
	f.enqueue(j)
	<-started
	if err := rr.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res, ok := f.result(j.ID); !ok || !res.OK {
		t.Fatalf("result of a job that finished during shutdown: %+v (reported %v)", res, ok)
	}
	noLeaks(t, f, cfg, b, leaks)
}

func TestShutdownAbandonsJobsAfterTheGrace(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	cfg.ShutdownGrace = 300 * time.Millisecond
	started := make(chan struct{})
	cfg.Tunnels = tunnelFunc(func(ctx context.Context, tun runner.Tunnel) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	rr := startRunner(t, cfg)
	j := tunnelJob(time.Minute)
	f.enqueue(j)
	<-started
	begin := time.Now()
	if err := rr.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("shutdown took %s with a 300ms grace", d)
	}
	if res, ok := f.result(j.ID); ok {
		t.Fatalf("an abandoned job was reported: %+v", res)
	}
	noLeaks(t, f, cfg, b, leaks)
}

func TestJobsRunConcurrentlyUpToTheBound(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	cfg.Concurrency = 2
	var now, peak atomic.Int32
	var mu sync.Mutex
	cfg.Tunnels = tunnelFunc(func(ctx context.Context, tun runner.Tunnel) error {
		n := now.Add(1)
		mu.Lock()
		peak.Store(max(peak.Load(), n))
		mu.Unlock()
		time.Sleep(300 * time.Millisecond)
		now.Add(-1)
		return nil
	})
	startRunner(t, cfg)
	var jobs []wire.Job
	for range 5 {
		jobs = append(jobs, tunnelJob(time.Minute))
	}
	f.enqueue(jobs...)
	for _, j := range jobs {
		if res := f.waitResult(t, j.ID, 10*time.Second); !res.OK {
			t.Fatalf("job %s: %+v", j.ID, res)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("%d jobs ran at once, want 2 (the bound)", p)
	}
}

func TestARedeliveryOfAJobItHoldsIsIgnored(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	var calls atomic.Int32
	started := make(chan struct{}, 1)
	cfg.Tunnels = tunnelFunc(func(ctx context.Context, tun runner.Tunnel) error {
		calls.Add(1)
		started <- struct{}{}
		time.Sleep(700 * time.Millisecond)
		return nil
	})
	startRunner(t, cfg)
	j := tunnelJob(time.Minute)
	f.enqueue(j)
	<-started
	polls := len(f.pollsSeen())
	f.enqueue(j) // the server thought the lease ran out
	waitFor(t, 5*time.Second, "the redelivery to be polled", func() bool { return len(f.pollsSeen()) > polls+1 })
	if res := f.waitResult(t, j.ID, 10*time.Second); !res.OK {
		t.Fatalf("result %+v", res)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the job ran %d times while held, want 1", n)
	}
}

// A tunnel job naming an absolute http(s) URL (the server replica that
// holds the client's side) is dialed there; any other URL is refused
// before the runner's credential goes anywhere.
func TestTunnelsDialTheURLTheJobNames(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	urls := make(chan string, 4)
	cfg.Tunnels = tunnelFunc(func(ctx context.Context, tun runner.Tunnel) error {
		urls <- tun.URL
		return nil
	})
	startRunner(t, cfg)
	good := tunnelJob(10 * time.Second)
	good.Tunnel.URL = "https://replica-2.example:3000" + good.Tunnel.Path
	f.enqueue(good)
	if res := f.waitResult(t, good.ID, 10*time.Second); !res.OK {
		t.Fatalf("tunnel with a URL: %+v", res)
	}
	if got := <-urls; got != good.Tunnel.URL {
		t.Errorf("dialed %q, want %q", got, good.Tunnel.URL)
	}
	for _, bad := range []string{"ws://replica-2.example/x", "file:///etc/passwd", "/relative", "https:///no-host"} {
		j := tunnelJob(10 * time.Second)
		j.Tunnel.URL = bad
		f.enqueue(j)
		if res := f.waitResult(t, j.ID, 10*time.Second); res.OK || !strings.Contains(res.Error, "not an absolute http(s) URL") {
			t.Errorf("tunnel to %q: %+v, want refused", bad, res)
		}
	}
	if len(urls) != 0 {
		t.Errorf("a bad URL reached the tunneler: %q", <-urls)
	}
}
