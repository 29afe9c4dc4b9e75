package control_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// TestReconcilePollAnswersAtOnce: a reconcile poll that finds a due job
// answers with it at once instead of holding the job for the whole wait.
func TestReconcilePollAnswersAtOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.create(e.alice, "quick", codepod.SandboxSpec{Image: codepod.TinyImage})
		start := time.Now()
		jobs := e.poll(r, wire.PollRequest{Reconcile: true, WaitSeconds: 20})
		if len(jobs) != 1 || jobs[0].SandboxID != sb.ID {
			t.Fatalf("reconcile poll = %s; want the create job of %s", describe(jobs), sb.ID)
		}
		if held := time.Since(start); held > 10*time.Second {
			t.Fatalf("the reconcile poll held its job for %s of its 20s wait", held)
		}
	})
}

// TestWaitingRunnerStaysOnline: a runner whose poll is held longer than the
// runner timeout is not marked offline, and its sandboxes stay running.
func TestWaitingRunnerStaysOnline(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig()) // RunnerTimeout 2s
		e.run(e.svc)
		r := e.runner("patient", nil, wire.Capacity{})
		sb := e.create(e.alice, "steady", codepod.SandboxSpec{Image: codepod.TinyImage})
		e.ok(r, e.pollOne(r, wire.KindCreate, sb.ID))
		e.wantStatus(sb.ID, codepod.SandboxRunning, "")
		jobs := e.poll(r, wire.PollRequest{WaitSeconds: 5}) // held 5s, past the 2s timeout
		if len(jobs) != 0 {
			t.Fatalf("idle poll = %s", describe(jobs))
		}
		got, err := e.st.Runner(e.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != codepod.RunnerOnline {
			t.Fatalf("runner is %s after waiting in a poll", got.Status)
		}
		e.wantStatus(sb.ID, codepod.SandboxRunning, "")
	})
}

// TestManyWaitingRunnersStayOnline: more held polls than one touch batch
// (50) are all kept online past the runner timeout.
func TestManyWaitingRunnersStayOnline(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig()) // RunnerTimeout 2s
		e.run(e.svc)
		const n = 70
		runners := make([]*codepod.Runner, n)
		for i := range runners {
			runners[i] = e.runner(fmt.Sprintf("patient-%d", i), nil, wire.Capacity{})
		}
		var wg sync.WaitGroup
		for _, r := range runners {
			wg.Go(func() {
				// Held 5s, past the 2s timeout.
				if _, err := e.svc.Poll(e.ctx, r, wire.PollRequest{WaitSeconds: 5}); err != nil {
					t.Errorf("poll of %s: %v", r.Name, err)
				}
			})
		}
		wg.Wait()
		for _, r := range runners {
			got, err := e.st.Runner(e.ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != codepod.RunnerOnline {
				t.Fatalf("runner %s is %s after waiting in a poll", r.Name, got.Status)
			}
		}
	})
}
