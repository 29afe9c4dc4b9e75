package control_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/quartz"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

func TestConcurrentPollersGetEachJobOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runners int
	}{{"20 runners", 20}, {"one runner, 20 polls", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, url string) {
				cfg := testConfig()
				cfg.Lease = 30 * time.Second // no re-delivery on a slow machine
				e := newEnv(t, url, cfg)
				runners := make([]*codepod.Runner, tc.runners)
				for i := range runners {
					runners[i] = e.runner(fmt.Sprintf("r%d", i), nil, wire.Capacity{})
				}
				const sandboxes = 100
				got := pollConcurrently(e, runners, 20, sandboxes, func() {
					for i := range sandboxes {
						e.create(e.alice, fmt.Sprintf("sb%d", i), codepod.SandboxSpec{})
					}
				})
				if len(got) != sandboxes {
					t.Fatalf("%d sandboxes got a create job; want %d", len(got), sandboxes)
				}
				for id, n := range got {
					if n != 1 {
						t.Errorf("create job of %s delivered %d times", id, n)
					}
				}
				counts, _ := e.st.CountSandboxesByStatus(e.ctx)
				if counts[codepod.SandboxRunning] != sandboxes {
					t.Fatalf("sandboxes by status = %v; want %d running", counts, sandboxes)
				}
			})
		})
	}
}

// pollConcurrently runs pollers goroutines, spread over runners, that report
// every job ok, while create runs; it stops when want distinct sandboxes got
// a job (or after 3 minutes) and counts deliveries per sandbox. The
// deadline only bounds a failing run: 100 creates on PostgreSQL beside
// stress-ng took more than 30 s.
func pollConcurrently(e *env, runners []*codepod.Runner, pollers, want int, create func()) map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i := range pollers {
		r := runners[i%len(runners)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := e.svc.Poll(ctx, r, wire.PollRequest{WaitSeconds: 5, MaxJobs: 3})
				if err != nil && ctx.Err() != nil {
					return
				}
				if err != nil {
					e.t.Errorf("poll: %v", err)
					return
				}
				for _, j := range resp.Jobs {
					if err := e.svc.Result(context.Background(), r, j.ID, wire.JobResult{OK: true}); err != nil {
						e.t.Errorf("result: %v", err)
					}
					mu.Lock()
					got[j.SandboxID]++
					if len(got) == want {
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	create()
	wg.Wait()
	// Nothing else may be due: every job was delivered and finished.
	for _, r := range runners[:1] {
		if jobs := e.pollNow(r); len(jobs) != 0 {
			e.t.Errorf("after the run, %s still gets %s", r.Name, describe(jobs))
		}
	}
	return got
}

func TestExpiredLeaseIsDeliveredAgain(t *testing.T) {
	t.Parallel() // waits on timeouts, not on the CPU
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		e.run(e.svc)
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{})
		first := e.pollOne(r, wire.KindCreate, sb.ID)
		if first.Attempt != 1 || time.Until(first.LeaseExpiresAt) > time.Second+100*time.Millisecond {
			t.Fatalf("first delivery: attempt %d, lease until %v; want 1 and within the 1s lease", first.Attempt, first.LeaseExpiresAt)
		}
		// The runner says nothing: the lease runs out and the waiting poll
		// is woken for the same job, long before its 10s wait ends.
		start := time.Now()
		jobs := e.poll(r, wire.PollRequest{WaitSeconds: 10})
		if len(jobs) != 1 || jobs[0].ID != first.ID || jobs[0].Attempt != 2 {
			t.Fatalf("second poll = %+v; want job %s again with attempt 2", jobs, first.ID)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("re-delivery took %s; want about the 1s lease", took)
		}
		if n := e.metric("codepod_jobs_lease_expired_total", nil); n != 1 {
			t.Fatalf("codepod_jobs_lease_expired_total = %v; want 1", n)
		}
		if n := e.metric("codepod_jobs_leased_total", nil); n != 2 {
			t.Fatalf("codepod_jobs_leased_total = %v; want 2", n)
		}

		// The first delivery's (late) report and the second's are one job:
		// the effect is applied once.
		e.ok(r, jobs[0])
		if _, err := e.svc.StopSandbox(e.ctx, e.alice, "box"); err != nil {
			t.Fatal(err)
		}
		e.ok(r, first) // a repeat: no error, and the sandbox stays stopping
		e.wantStatus(sb.ID, codepod.SandboxStopping, "")
		if n := e.metric("codepod_jobs_finished_total", map[string]string{"kind": "create", "ok": "true"}); n != 1 {
			t.Fatalf("codepod_jobs_finished_total{create,true} = %v; want 1", n)
		}
	})
}

func TestWaitingPollIsWokenByANewJob(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		cfg := testConfig()
		cfg.Clock = clock
		e := newEnv(t, url, cfg)
		waiting := clock.Trap().NewTimer("poll", "wait") // a poll that found nothing starts its hold
		defer waiting.Close()
		r := e.runner("r1", nil, wire.Capacity{})
		type answer struct {
			jobs []wire.Job
			at   time.Time
		}
		done := make(chan answer, 1)
		go func() {
			resp, err := e.svc.Poll(e.ctx, r, wire.PollRequest{WaitSeconds: 20})
			if err != nil {
				t.Errorf("poll: %v", err)
				resp = &wire.PollResponse{}
			}
			done <- answer{resp.Jobs, time.Now()}
		}()
		waiting.MustWait(e.ctx).MustRelease(e.ctx) // the poll is waiting now
		sb := e.create(e.alice, "box", codepod.SandboxSpec{})
		select {
		case a := <-done:
			if len(a.jobs) != 1 || a.jobs[0].SandboxID != sb.ID {
				t.Fatalf("poll answered %s; want the create job of %s", describe(a.jobs), sb.ID)
			}
			e.ok(r, a.jobs[0])
		case <-time.After(30 * time.Second):
			// The mock clock never ends the 20s hold: only the wake answers.
			t.Fatal("a poll waiting 20s was not woken by a new job")
		}

		// With nothing due, a poll holds for its wait and answers empty.
		go func() {
			resp, err := e.svc.Poll(e.ctx, r, wire.PollRequest{WaitSeconds: 1})
			if err != nil {
				t.Errorf("poll: %v", err)
				resp = &wire.PollResponse{}
			}
			done <- answer{resp.Jobs, time.Now()}
		}()
		call := waiting.MustWait(e.ctx)
		if call.Duration != time.Second {
			t.Errorf("idle poll with WaitSeconds=1 holds for %s", call.Duration)
		}
		call.MustRelease(e.ctx)
		select {
		case a := <-done:
			t.Fatalf("the idle poll answered %s before its hold ended", describe(a.jobs))
		default:
		}
		clock.Advance(time.Second).MustWait(e.ctx)
		if a := <-done; len(a.jobs) != 0 {
			t.Fatalf("idle poll = %s; want none", describe(a.jobs))
		}
	})
}

func TestProgressExtendsLeaseAndShowsReason(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		clock := quartz.NewMock(t)
		cfg := testConfig()
		cfg.Clock = clock
		e := newEnv(t, url, cfg)
		r := e.runner("r1", nil, wire.Capacity{})
		clock.Advance(time.Millisecond).MustWait(e.ctx) // r1 registered first: placement picks it
		other := e.runner("r2", nil, wire.Capacity{Sandboxes: 1})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{})
		j := e.pollOne(r, wire.KindCreate, sb.ID)
		clock.Advance(600 * time.Millisecond).MustWait(e.ctx)
		if err := e.svc.Progress(e.ctx, r, j.ID, wire.JobProgress{Message: "pulling image 40%"}); err != nil {
			t.Fatal(err)
		}
		e.wantStatus(sb.ID, codepod.SandboxCreating, "pulling image 40%")
		job, err := e.st.Job(e.ctx, j.ID)
		if err != nil || !job.LeaseExpiresAt.After(j.LeaseExpiresAt.Add(500*time.Millisecond)) {
			t.Fatalf("lease after progress = %v (was %v), %v; want extended", job.LeaseExpiresAt, j.LeaseExpiresAt, err)
		}
		// Past the first lease, but within the extended one: not re-delivered.
		clock.Advance(600 * time.Millisecond).MustWait(e.ctx)
		if jobs := e.pollNow(r); len(jobs) != 0 {
			t.Fatalf("job re-delivered within its extended lease: %s", describe(jobs))
		}
		if err := e.svc.Progress(e.ctx, other, j.ID, wire.JobProgress{Message: "x"}); err == nil {
			t.Fatal("another runner extended the lease")
		}
		if err := e.svc.Result(e.ctx, other, j.ID, wire.JobResult{OK: true}); err == nil {
			t.Fatal("another runner finished the job")
		}
		e.wantStatus(sb.ID, codepod.SandboxCreating, "")
	})
}
