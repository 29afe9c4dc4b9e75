package control_test

import (
	"testing"

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
