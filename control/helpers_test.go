package control_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/quartz"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/store"
	"github.com/codepod-dev/codepod/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// databases are the stores every test runs on: a fresh one per call.
var databases = []struct {
	name string
	url  func(tb testing.TB) string
}{
	{"sqlite", func(tb testing.TB) string { return "sqlite://" + filepath.Join(tb.TempDir(), "codepod.db") }},
	{"postgres", func(tb testing.TB) string { return testenv.PostgresURL(tb) }},
}

// forEachDB runs fn as a subtest on each database.
func forEachDB(t *testing.T, fn func(t *testing.T, url string)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) { fn(t, db.url(t)) })
	}
}

// testConfig is short enough for tests to see leases expire and runners
// go offline.
func testConfig() control.Config {
	// Metrics are read fresh on every scrape, as the tests expect. A poll
	// that asks for no wait is held a millisecond (pollNow): its heartbeat
	// and claim run to the end with no deadline a busy machine could miss.
	return control.Config{Lease: time.Second, RunnerTimeout: 2 * time.Second, TickInterval: 100 * time.Millisecond, PollWait: time.Millisecond,
		MetricsMaxAge: time.Nanosecond}
}

// env is a Service on a real store with three users.
type env struct {
	t                 testing.TB
	ctx               context.Context
	url               string
	st                *store.DB
	svc               *control.Service
	reg               *prometheus.Registry
	admin, alice, bob *codepod.User
	registrationToken string
	clock             *quartz.Mock // the service's clock when a test mocks it
}

func newEnv(t testing.TB, url string, cfg control.Config) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), url: url, reg: prometheus.NewRegistry()}
	e.st = openStore(t, url)
	cfg.Registerer = e.reg
	e.svc = control.New(e.st, cfg)
	e.clock, _ = cfg.Clock.(*quartz.Mock)
	e.admin = e.user("admin@example.com", true)
	e.alice = e.user("alice@example.com", false)
	e.bob = e.user("bob@example.com", false)
	tok := secret.New(secret.RunnerToken, secret.NewID("rt"))
	if err := e.st.CreateRunnerToken(e.ctx, &codepod.RunnerToken{ID: tok.ID, Prefix: tok.Prefix, Hash: tok.Hash, CreatedBy: e.admin.ID}); err != nil {
		t.Fatal(err)
	}
	e.registrationToken = tok.Full
	return e
}

func openStore(t testing.TB, url string) *store.DB {
	t.Helper()
	st, err := store.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) user(email string, admin bool) *codepod.User {
	u := &codepod.User{Email: email, Name: strings.Split(email, "@")[0], Admin: admin}
	if err := e.st.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// run starts the Service's background loop until the test ends.
func (e *env) run(svc *control.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := svc.Run(ctx); err != nil {
			e.t.Errorf("Run: %v", err)
		}
	}()
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}

// runner registers a runner and returns it as AuthenticateRunner sees it.
func (e *env) runner(name string, labels map[string]string, c wire.Capacity) *codepod.Runner {
	e.t.Helper()
	resp, err := e.svc.RegisterRunner(e.ctx, e.registrationToken, wire.RegisterRequest{Name: name, Labels: labels, Capacity: c, Version: "test"})
	if err != nil {
		e.t.Fatalf("register runner %s: %v", name, err)
	}
	r, err := e.svc.AuthenticateRunner(e.ctx, resp.Credential)
	if err != nil {
		e.t.Fatalf("authenticate runner %s: %v", name, err)
	}
	return r
}

// create makes a sandbox of u and fails the test on error.
func (e *env) create(u *codepod.User, name string, spec codepod.SandboxSpec) *codepod.Sandbox {
	e.t.Helper()
	sb, err := e.svc.CreateSandbox(e.ctx, u, name, spec)
	if err != nil {
		e.t.Fatalf("create sandbox %q: %v", name, err)
	}
	return sb
}

// poll polls for r with req and fails the test on error.
func (e *env) poll(r *codepod.Runner, req wire.PollRequest) []wire.Job {
	e.t.Helper()
	resp, err := e.svc.Poll(e.ctx, r, req)
	if err != nil {
		e.t.Fatalf("poll of %s: %v", r.Name, err)
	}
	return resp.Jobs
}

// pollNow polls for r without waiting more than a moment for jobs.
func (e *env) pollNow(r *codepod.Runner) []wire.Job {
	e.t.Helper()
	return e.pollUnheld(r, wire.PollRequest{})
}

// pollUnheld polls for r with req (its WaitSeconds left 0) and returns once
// the poll has claimed what is due: its heartbeat and claim run with no
// deadline a busy machine could miss. The hold that follows when nothing is
// due is the env's PollWait on a real clock (a millisecond in testConfig);
// on a mock clock the poll is cancelled once it starts that hold.
func (e *env) pollUnheld(r *codepod.Runner, req wire.PollRequest) []wire.Job {
	e.t.Helper()
	type answer struct {
		resp *wire.PollResponse
		err  error
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var holds *quartz.Trap
	if e.clock != nil {
		holds = e.clock.Trap().NewTimer("poll", "wait")
		defer holds.Close()
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := e.svc.Poll(ctx, r, req)
		done <- answer{resp, err}
	}()
	if holds != nil {
		held := make(chan struct{})
		go func() {
			if call, err := holds.Wait(ctx); err == nil {
				_ = call.Release(ctx)
				close(held)
			}
		}()
		select {
		case <-held:
			cancel() // found nothing: the cancelled hold answers with no jobs
		case a := <-done:
			done <- a
		}
	}
	a := <-done
	if a.err != nil {
		e.t.Fatalf("poll of %s: %v", r.Name, a.err)
	}
	return a.resp.Jobs
}

// pollOne polls for r and expects exactly one job of kind for sandbox id.
func (e *env) pollOne(r *codepod.Runner, kind, sandboxID string) wire.Job {
	e.t.Helper()
	jobs := e.poll(r, wire.PollRequest{WaitSeconds: 2})
	if len(jobs) != 1 || jobs[0].Kind != kind || jobs[0].SandboxID != sandboxID {
		e.t.Fatalf("poll of %s = %s; want one %s job for %s", r.Name, describe(jobs), kind, sandboxID)
	}
	return jobs[0]
}

func (e *env) ok(r *codepod.Runner, j wire.Job) {
	e.t.Helper()
	if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{OK: true, HostKeyFingerprint: "SHA256:test"}); err != nil {
		e.t.Fatalf("result of %s job %s: %v", j.Kind, j.ID, err)
	}
}

// get reads a sandbox from the store, deleted or not.
func (e *env) get(id string) *codepod.Sandbox {
	e.t.Helper()
	sb, err := e.st.Sandbox(e.ctx, id)
	if err != nil {
		e.t.Fatalf("get sandbox %s: %v", id, err)
	}
	return sb
}

// wantStatus checks a sandbox's status and that its reason contains reason.
func (e *env) wantStatus(id string, want codepod.SandboxStatus, reason string) *codepod.Sandbox {
	e.t.Helper()
	sb := e.get(id)
	if sb.Status != want || !strings.Contains(sb.Reason, reason) {
		e.t.Fatalf("sandbox %s is %s (%q); want %s with a reason containing %q", sb.Name, sb.Status, sb.Reason, want, reason)
	}
	return sb
}

// eventually waits up to d for cond.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(jobs []wire.Job) string {
	parts := []string{}
	for _, j := range jobs {
		parts = append(parts, j.Kind+":"+j.SandboxID)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if codepod.ErrorCode(err) != code {
		t.Fatalf("error = %v; want code %s", err, code)
	}
}

// metric returns the value of a counter or gauge named name whose labels
// include labels, or the sample count of a histogram.
func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				return value(m)
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
