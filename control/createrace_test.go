package control_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// TestConcurrentCreatesAtTheEdge: creates in one process run side by side
// (no process-wide lock serializes them). 24 creates at once against a
// quota of 8 sandboxes and two runners with room for 3 each: exactly 8 are
// created and 16 refused with the quota's 403; 6 are placed (3 a runner),
// each with exactly one create job on its runner, and 2 wait for room; no
// row is left of a refused create.
func TestConcurrentCreatesAtTheEdge(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		r1 := e.runner("r1", nil, wire.Capacity{Sandboxes: 3})
		r2 := e.runner("r2", nil, wire.Capacity{Sandboxes: 3})
		eight := 8
		if _, err := e.st.UpdateUser(e.ctx, e.alice.ID, codepod.UserUpdate{Quota: &codepod.QuotaOverride{Sandboxes: &eight}}); err != nil {
			t.Fatal(err)
		}
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Go(func() {
				_, err := e.svc.CreateSandbox(e.ctx, e.alice, fmt.Sprintf("edge-%d", i), codepod.SandboxSpec{Image: codepod.TinyImage})
				switch {
				case err == nil:
					ok.Add(1)
				case codepod.ErrorCode(err) == codepod.EFORBIDDEN && strings.Contains(err.Error(), "8 of 8 sandboxes"):
					refused.Add(1)
				default:
					t.Errorf("create edge-%d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 8 || refused.Load() != 16 {
			t.Fatalf("%d creates succeeded and %d were refused; want 8 and 16", ok.Load(), refused.Load())
		}
		all, _, err := e.st.ListSandboxes(e.ctx, codepod.SandboxFilter{IncludeDeleted: true, Page: codepod.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 8 {
			t.Fatalf("%d sandbox rows; want 8 (one per create that succeeded)", len(all))
		}
		usage, err := e.st.RunnerUsage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if usage[r1.ID].Sandboxes != 3 || usage[r2.ID].Sandboxes != 3 {
			t.Fatalf("runner usage %v; want 3 on each", usage)
		}
		waiting := 0
		for _, sb := range all {
			if sb.RunnerID == "" {
				waiting++
				if !strings.Contains(sb.Reason, "free capacity") {
					t.Errorf("waiting sandbox %s says %q", sb.Name, sb.Reason)
				}
			}
		}
		if waiting != 2 {
			t.Fatalf("%d sandboxes wait for room; want 2", waiting)
		}
		creates := map[string]int{}
		for _, r := range []*codepod.Runner{r1, r2} {
			for _, j := range e.quickPoll(e.svc, r, wire.PollRequest{MaxJobs: 100}) {
				if j.Kind != wire.KindCreate {
					t.Fatalf("unexpected job %s", j.Kind)
				}
				creates[j.SandboxID]++
				if sb := e.get(j.SandboxID); sb.RunnerID != r.ID {
					t.Fatalf("create job of %s on %s, placed on %s", sb.Name, r.Name, sb.RunnerID)
				}
			}
		}
		if len(creates) != 6 {
			t.Fatalf("create jobs for %d sandboxes; want 6", len(creates))
		}
		for id, n := range creates {
			if n != 1 {
				t.Fatalf("sandbox %s has %d create jobs", id, n)
			}
		}
	})
}

// TestFailedCreatesGiveBackTheirRoom: a create reserves room on the runner
// it picks in the process's placement view before its transaction commits;
// one that fails (here: 10 creates of one name at once, 9 conflict) gives
// it back. Were the 9 reservations kept, the view would count r1 (the only
// runner with the label they ask for) 10 sandboxes full for the view's
// lifetime and send every later create to r2.
func TestFailedCreatesGiveBackTheirRoom(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		cfg := quickConfig()
		cfg.PlacementMaxAge = time.Hour
		e := newEnv(t, url, cfg)
		r1 := e.runner("r1", map[string]string{"gpu": "yes"}, wire.Capacity{})
		r2 := e.runner("r2", nil, wire.Capacity{})
		var ok, conflict atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := e.svc.CreateSandbox(e.ctx, e.alice, "same", codepod.SandboxSpec{RunnerLabels: map[string]string{"gpu": "yes"}})
				switch {
				case err == nil:
					ok.Add(1)
				case codepod.ErrorCode(err) == codepod.ECONFLICT:
					conflict.Add(1)
				default:
					t.Errorf("create same: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 9 {
			t.Fatalf("%d creates succeeded and %d conflicted; want 1 and 9", ok.Load(), conflict.Load())
		}
		on := map[string]int{}
		for i := range 9 {
			sb, err := e.svc.CreateSandbox(e.ctx, e.alice, fmt.Sprintf("after-%d", i), codepod.SandboxSpec{})
			if err != nil {
				t.Fatal(err)
			}
			on[sb.RunnerID]++
		}
		// r1 holds 1, r2 none: of 9 more, r2 takes 5 and r1 4 when the view
		// counts what the runners hold.
		if on[r1.ID] < 3 {
			t.Fatalf("of 9 creates after the conflicts, r1 got %d and r2 %d: the failed creates' room was not given back", on[r1.ID], on[r2.ID])
		}
	})
}
