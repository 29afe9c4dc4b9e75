package control_test

import (
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

func TestMetrics(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		a := e.create(e.alice, "a", codepod.SandboxSpec{})
		e.create(e.alice, "b", codepod.SandboxSpec{RunnerLabels: map[string]string{"x": "y"}})
		j := e.pollOne(r, wire.KindCreate, a.ID)
		if err := e.svc.Result(e.ctx, r, j.ID, wire.JobResult{Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"codepod_jobs_enqueued_total", map[string]string{"kind": "create"}, 1},
			{"codepod_jobs_leased_total", nil, 1},
			{"codepod_jobs_lease_expired_total", nil, 0},
			{"codepod_jobs_finished_total", map[string]string{"kind": "create", "ok": "false"}, 1},
			{"codepod_poll_wait_seconds", nil, 1},
			{"codepod_runners_online", nil, 1},
			{"codepod_sandboxes", map[string]string{"status": "error"}, 1},
			{"codepod_sandboxes", map[string]string{"status": "pending"}, 1},
			{"codepod_sandboxes", map[string]string{"status": "running"}, 0},
			{"codepod_jobs", map[string]string{"status": "failed"}, 1},
			{"codepod_jobs", map[string]string{"status": "queued"}, 0},
		} {
			if got := e.metric(c.name, c.labels); got != c.want {
				t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
			}
		}
	})
}

// The store's gauges are read once per MetricsMaxAge, however often
// Prometheus (or several) scrape: a scrape costs no table scan in between.
func TestMetricsReadTheStoreOncePerMaxAge(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		cfg := testConfig()
		clk := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clk }
		cfg.MetricsMaxAge = 10 * time.Second
		e := newEnv(t, url, cfg)
		pending := map[string]string{"status": "pending"}
		e.create(e.alice, "a", codepod.SandboxSpec{})
		if got := e.metric("codepod_sandboxes", pending); got != 1 {
			t.Fatalf("pending = %v; want 1", got)
		}
		e.create(e.alice, "b", codepod.SandboxSpec{})
		if got := e.metric("codepod_sandboxes", pending); got != 1 {
			t.Fatalf("pending = %v within the max age; want the figure read before (1)", got)
		}
		mu.Lock()
		clk = clk.Add(10 * time.Second)
		mu.Unlock()
		if got := e.metric("codepod_sandboxes", pending); got != 2 {
			t.Fatalf("pending = %v after the max age; want 2", got)
		}
	})
}
