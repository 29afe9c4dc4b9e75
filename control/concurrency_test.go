package control_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// quickConfig holds polls that ask for no wait a millisecond only, so the
// tests below poll without deadlines that a busy machine would miss.
func quickConfig() control.Config {
	cfg := testConfig()
	cfg.PollWait = time.Millisecond
	cfg.Lease = 30 * time.Second
	return cfg
}

// quickPoll polls r on svc without holding.
func (e *env) quickPoll(svc *control.Service, r *codepod.Runner, req wire.PollRequest) []wire.Job {
	e.t.Helper()
	req.WaitSeconds = 0
	resp, err := svc.Poll(e.ctx, r, req)
	if err != nil {
		e.t.Errorf("poll of %s: %v", r.Name, err)
		return nil
	}
	return resp.Jobs
}

// unfinished counts the queued and leased jobs (of the only sandbox).
func (e *env) unfinished() int {
	e.t.Helper()
	counts, err := e.st.CountJobsByStatus(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return counts[codepod.JobQueued] + counts[codepod.JobLeased]
}

// TestConcurrentUserActions: 50 goroutines stop, start and delete one
// sandbox while its runner works through the jobs. No delete is lost: the
// sandbox ends deleting with exactly its delete job unfinished, or deleted
// with none; every refusal is a 409 with a message.
func TestConcurrentUserActions(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.runningBox(r, "box")

		stop := make(chan struct{})
		var runnerDone sync.WaitGroup
		runnerDone.Go(func() { // the runner keeps working meanwhile
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, j := range e.quickPoll(e.svc, r, wire.PollRequest{}) {
					if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{OK: true, HostKeyFingerprint: "SHA256:test"}); err != nil {
						t.Errorf("result: %v", err)
					}
				}
			}
		})
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				var err error
				switch i % 3 {
				case 0:
					_, err = e.svc.StopSandbox(e.ctx, e.alice, sb.ID)
				case 1:
					_, err = e.svc.StartSandbox(e.ctx, e.alice, sb.ID)
				default:
					_, err = e.svc.DeleteSandbox(e.ctx, e.alice, sb.ID)
				}
				switch codepod.ErrorCode(err) {
				case "", codepod.ECONFLICT, codepod.ENOTFOUND:
				default:
					t.Errorf("action %d: %v", i%3, err)
				}
				if codepod.ErrorCode(err) == codepod.ECONFLICT && strings.TrimSpace(codepod.ErrorMessage(err)) == "" {
					t.Errorf("a conflict without a message")
				}
			})
		}
		wg.Wait()
		close(stop)
		runnerDone.Wait()

		got := e.get(sb.ID)
		switch n := e.unfinished(); got.Status {
		case codepod.SandboxDeleting:
			if n != 1 {
				t.Fatalf("sandbox deleting with %d unfinished jobs; want its delete job only", n)
			}
			j := e.pollOne(r, wire.KindDelete, sb.ID)
			e.ok(r, j)
		case codepod.SandboxDeleted:
			if n != 0 {
				t.Fatalf("sandbox deleted with %d unfinished jobs", n)
			}
		default:
			t.Fatalf("after 17 deletes the sandbox is %s (%q)", got.Status, got.Reason)
		}
		e.wantStatus(sb.ID, codepod.SandboxDeleted, "")
	})
}

// TestTwoControlPlanesPlaceWithoutOverfilling: two Services on one
// database (two replicas) create 40 sandboxes at once onto two runners with
// room for 10 each. No runner takes more than 10, and every placed sandbox
// has exactly one create job.
func TestTwoControlPlanesPlaceWithoutOverfilling(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		st2 := openStore(t, url)
		svc2 := control.New(st2, quickConfig())
		r1 := e.runner("r1", nil, wire.Capacity{Sandboxes: 10})
		r2 := e.runner("r2", nil, wire.Capacity{Sandboxes: 10})
		svcs := []*control.Service{e.svc, svc2}

		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				if _, err := svcs[i%2].CreateSandbox(e.ctx, e.alice, fmt.Sprintf("box-%d", i), codepod.SandboxSpec{}); err != nil {
					t.Errorf("create box-%d: %v", i, err)
				}
			})
		}
		wg.Wait()
		// Both replicas retry placement at once too (Poll places pending
		// sandboxes): nothing more fits.
		var mu sync.Mutex
		leased := map[string][]wire.Job{}
		for _, svc := range svcs {
			for _, r := range []*codepod.Runner{r1, r2} {
				wg.Go(func() {
					jobs := e.quickPoll(svc, r, wire.PollRequest{MaxJobs: 1})
					mu.Lock()
					leased[r.ID] = append(leased[r.ID], jobs...)
					mu.Unlock()
				})
			}
		}
		wg.Wait()

		usage, err := e.st.RunnerUsage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if usage[r1.ID].Sandboxes > 10 || usage[r2.ID].Sandboxes > 10 {
			t.Fatalf("runners overfilled: %v", usage)
		}
		placed := usage[r1.ID].Sandboxes + usage[r2.ID].Sandboxes
		if placed != 20 {
			t.Fatalf("%d sandboxes placed; want 20 (the room there is)", placed)
		}
		creates := map[string]int{}
		for _, r := range []*codepod.Runner{r1, r2} {
			for _, j := range append(leased[r.ID], e.quickPoll(e.svc, r, wire.PollRequest{MaxJobs: 100})...) {
				if j.Kind != wire.KindCreate {
					t.Fatalf("unexpected job %s", j.Kind)
				}
				creates[j.SandboxID]++
				if sb := e.get(j.SandboxID); sb.RunnerID != r.ID {
					t.Fatalf("create job of %s on %s, placed on %s", sb.Name, r.Name, sb.RunnerID)
				}
			}
		}
		if len(creates) != 20 {
			t.Fatalf("create jobs for %d sandboxes; want 20", len(creates))
		}
		for id, n := range creates {
			if n != 1 {
				t.Fatalf("sandbox %s has %d create jobs", id, n)
			}
		}
		pending, _, err := e.st.ListSandboxes(e.ctx, codepod.SandboxFilter{Status: []codepod.SandboxStatus{codepod.SandboxPending}, Page: codepod.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		waiting := 0
		for _, sb := range pending {
			if sb.RunnerID == "" {
				waiting++
				if !strings.Contains(sb.Reason, "free capacity") {
					t.Errorf("waiting sandbox %s says %q", sb.Name, sb.Reason)
				}
			}
		}
		if waiting != 20 {
			t.Fatalf("%d sandboxes wait for room; want 20", waiting)
		}
	})
}

// TestCreateResultRacingReconcile: the runner lists its containers, then a
// create result commits, then the poll with that inventory arrives (or the
// other way round). Reconcile never marks the live sandbox dead.
func TestCreateResultRacingReconcile(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		for i := range 10 {
			sb := e.create(e.alice, fmt.Sprintf("box-%d", i), codepod.SandboxSpec{})
			j := e.pollOne(r, wire.KindCreate, sb.ID)
			// The inventory is taken now: the container is not there yet.
			asPolled, err := e.st.Runner(e.ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() { e.ok(r, j) })
			wg.Go(func() { e.quickPoll(e.svc, asPolled, wire.PollRequest{Reconcile: true}) })
			wg.Wait()
			e.wantStatus(sb.ID, codepod.SandboxRunning, "")
		}
	})
}

// TestReconcileRevivesAnErrorSandboxWhoseContainerRuns: a sandbox marked
// error "container disappeared" comes back when its container is listed
// running.
func TestReconcileRevivesAnErrorSandboxWhoseContainerRuns(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.runningBox(r, "box")
		fresh := func() *codepod.Runner {
			got, err := e.st.Runner(e.ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		e.quickPoll(e.svc, fresh(), wire.PollRequest{}) // the next inventory is newer than the create result
		e.quickPoll(e.svc, fresh(), wire.PollRequest{Reconcile: true})
		e.wantStatus(sb.ID, codepod.SandboxError, "container disappeared")
		inv := []wire.SandboxState{{ID: sb.ID, State: wire.StateRunning}}
		e.quickPoll(e.svc, fresh(), wire.PollRequest{}) // a later poll: the inventory below is newer than the error
		e.quickPoll(e.svc, fresh(), wire.PollRequest{Reconcile: true, Sandboxes: inv})
		e.wantStatus(sb.ID, codepod.SandboxRunning, "")
	})
}

// TestResultsOfAnyTextAreSaved: a failure message of 4 MiB of multi-byte
// characters, invalid bytes and NULs, cut at every offset of a character,
// is saved (PostgreSQL refuses invalid UTF-8 and NUL) and fails the
// sandbox with a reason, once.
func TestResultsOfAnyTextAreSaved(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		big := strings.Repeat("é€😀\x00\xff", (4<<20)/12)
		for off := range 4 {
			sb := e.create(e.alice, fmt.Sprintf("box-%d", off), codepod.SandboxSpec{})
			j := e.pollOne(r, wire.KindCreate, sb.ID)
			msg := big[off : 4096+off] // starts and ends inside characters
			if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{Error: msg}); err != nil {
				t.Fatalf("offset %d: %v", off, err)
			}
			got := e.wantStatus(sb.ID, codepod.SandboxError, "")
			if got.Reason == "" || len(got.Reason) > 4096 {
				t.Fatalf("offset %d: reason of %d bytes", off, len(got.Reason))
			}
		}
		sb := e.create(e.alice, "huge", codepod.SandboxSpec{})
		j := e.pollOne(r, wire.KindCreate, sb.ID)
		if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{Error: big[1:]}); err != nil {
			t.Fatal(err)
		}
		e.wantStatus(sb.ID, codepod.SandboxError, "")
		if jobs := e.quickPoll(e.svc, r, wire.PollRequest{}); len(jobs) != 0 {
			t.Fatalf("a failed job came back: %s", describe(jobs))
		}
	})
}

// TestTwoControlPlanesPlaceWaitingSandboxesOnce: 40 sandboxes wait with no
// runner; two runners with room for 10 each appear, and both replicas'
// polls place the same waiting sandboxes at once. Each is placed once, with
// one create job, and no runner takes more than 10.
func TestTwoControlPlanesPlaceWaitingSandboxesOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		svcs := []*control.Service{e.svc, control.New(openStore(t, url), quickConfig())}
		for i := range 40 {
			e.create(e.alice, fmt.Sprintf("box-%d", i), codepod.SandboxSpec{})
		}
		var runners []*codepod.Runner
		for _, name := range []string{"r1", "r2"} {
			r := &codepod.Runner{Name: name, Capacity: codepod.Capacity{Sandboxes: 10}, SecretHash: []byte("x"), Status: codepod.RunnerOnline}
			if err := e.st.CreateRunner(e.ctx, r); err != nil { // online, but nobody placed anything yet
				t.Fatal(err)
			}
			runners = append(runners, r)
		}
		var mu sync.Mutex
		creates := map[string]int{}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				r := runners[i%2]
				for _, j := range e.quickPoll(svcs[(i/2)%2], r, wire.PollRequest{MaxJobs: 100}) {
					mu.Lock()
					creates[j.SandboxID]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, r := range runners {
			for _, j := range e.quickPoll(e.svc, r, wire.PollRequest{MaxJobs: 100}) {
				creates[j.SandboxID]++
			}
		}
		usage, err := e.st.RunnerUsage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runners {
			if usage[r.ID].Sandboxes != 10 {
				t.Fatalf("runner %s holds %d sandboxes; want 10 (its room): %v", r.Name, usage[r.ID].Sandboxes, usage)
			}
		}
		if len(creates) != 20 {
			t.Fatalf("create jobs for %d sandboxes; want 20", len(creates))
		}
		for id, n := range creates {
			if n != 1 {
				t.Fatalf("sandbox %s got %d create jobs", id, n)
			}
		}
	})
}

// TestStopAndDeleteAtOnceLoseNothing: a stop and a delete of one running
// sandbox at the same moment, many times over. The delete always wins in
// the end: deleting, its delete job the only unfinished one.
func TestStopAndDeleteAtOnceLoseNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		svc2 := control.New(openStore(t, url), quickConfig()) // a second replica
		r := e.runner("r1", nil, wire.Capacity{})
		for i := range 15 {
			sb := e.runningBox(r, fmt.Sprintf("box-%d", i))
			start := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				<-start
				if _, err := e.svc.StopSandbox(e.ctx, e.alice, sb.ID); err != nil && codepod.ErrorCode(err) != codepod.ECONFLICT {
					t.Errorf("stop: %v", err)
				}
			})
			wg.Go(func() {
				<-start
				if _, err := svc2.DeleteSandbox(e.ctx, e.alice, sb.ID); err != nil {
					t.Errorf("delete: %v", err)
				}
			})
			close(start)
			wg.Wait()
			e.wantStatus(sb.ID, codepod.SandboxDeleting, "")
			if n := e.unfinished(); n != 1 {
				t.Fatalf("round %d: %d unfinished jobs; want the delete job only", i, n)
			}
			e.ok(r, e.pollOne(r, wire.KindDelete, sb.ID))
		}
	})
}
