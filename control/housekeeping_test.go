package control_test

import (
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// TestHousekeepingPrunesByRetention runs housekeeping at three moments:
// now (nothing goes), a day later (the finished jobs go, the deleted
// sandbox stays) and eight days later (the deleted sandbox goes too). The
// live sandbox and its unfinished work are never touched.
func TestHousekeepingPrunesByRetention(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		r := e.runner("host", nil, wire.Capacity{Sandboxes: 10, MemoryBytes: 8 << 30})
		gone := e.create(e.alice, "gone", codepod.SandboxSpec{Image: codepod.TinyImage})
		createJob := e.pollOne(r, "create", gone.ID)
		e.ok(r, createJob)
		if _, err := e.svc.DeleteSandbox(e.ctx, e.alice, "gone"); err != nil {
			t.Fatal(err)
		}
		deleteJob := e.pollOne(r, "delete", gone.ID)
		e.ok(r, deleteJob)
		live := e.create(e.alice, "live", codepod.SandboxSpec{Image: codepod.TinyImage}) // its create job stays queued

		at := func(d time.Duration) {
			t.Helper()
			cfg := testConfig()
			cfg.Now = func() time.Time { return time.Now().Add(d) }
			if err := control.New(e.st, cfg).Housekeep(e.ctx); err != nil {
				t.Fatalf("Housekeep at +%s: %v", d, err)
			}
		}
		jobGone := func(id string) bool {
			_, err := e.st.Job(e.ctx, id)
			return codepod.ErrorCode(err) == codepod.ENOTFOUND
		}
		boxGone := func(id string) bool {
			_, err := e.st.Sandbox(e.ctx, id)
			return codepod.ErrorCode(err) == codepod.ENOTFOUND
		}

		at(0)
		if jobGone(createJob.ID) || boxGone(gone.ID) {
			t.Fatal("housekeeping pruned fresh rows")
		}
		at(25 * time.Hour)
		if !jobGone(createJob.ID) || !jobGone(deleteJob.ID) {
			t.Fatal("finished jobs outlived the 24h job retention")
		}
		if boxGone(gone.ID) {
			t.Fatal("a deleted sandbox went before the 7-day retention")
		}
		at(8 * 24 * time.Hour)
		if !boxGone(gone.ID) {
			t.Fatal("a deleted sandbox outlived the 7-day retention")
		}
		if boxGone(live.ID) {
			t.Fatal("housekeeping removed a live sandbox")
		}
		if jobs := e.pollNow(r); len(jobs) != 1 || jobs[0].SandboxID != live.ID {
			t.Fatalf("the live sandbox's queued create job: %s", describe(jobs))
		}
	})
}
