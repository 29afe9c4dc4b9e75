package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/store"
)

// newRunner creates an online runner last seen now.
func newRunner(t testing.TB, db *store.DB, name string) *codepod.Runner {
	t.Helper()
	r := &codepod.Runner{Name: name, Labels: map[string]string{"zone": "a"}, SecretHash: []byte("secret"),
		Capacity: codepod.Capacity{Sandboxes: 10, MemoryBytes: 8 << 30}, Version: "v1"}
	must(t, db.CreateRunner(context.Background(), r))
	return r
}

func testRunners(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)

	r := newRunner(t, db, "host-1")
	if !strings.HasPrefix(r.ID, "run_") || r.Status != codepod.RunnerOnline || r.LastSeenAt.IsZero() {
		t.Fatalf("CreateRunner did not fill ID, status and last seen: %+v", r)
	}
	got, err := db.Runner(ctx, r.ID)
	must(t, err)
	if !reflect.DeepEqual(got, r) {
		t.Errorf("Runner = %+v, want %+v", got, r)
	}
	_, err = db.Runner(ctx, "run_missing")
	wantCode(t, err, codepod.ENOTFOUND, "run_missing")

	r.Name, r.Version, r.Labels = "host-1b", "v2", map[string]string{"zone": "b", "gpu": "yes"}
	r.Capacity = codepod.Capacity{Sandboxes: 3}
	r.LastSeenAt = time.Now().Add(-time.Hour)
	must(t, db.UpdateRunner(ctx, r))
	got, err = db.Runner(ctx, r.ID)
	must(t, err)
	if !reflect.DeepEqual(got, r) {
		t.Errorf("after UpdateRunner, Runner = %+v, want %+v", got, r)
	}
	wantCode(t, db.UpdateRunner(ctx, &codepod.Runner{ID: "run_missing"}), codepod.ENOTFOUND)

	fresh := newRunner(t, db, "host-2")
	stale, err := db.MarkStaleRunners(ctx, time.Now().Add(-time.Minute))
	must(t, err)
	if !reflect.DeepEqual(stale, []string{r.ID}) {
		t.Errorf("MarkStaleRunners = %v, want [%s]", stale, r.ID)
	}
	again, err := db.MarkStaleRunners(ctx, time.Now().Add(-time.Minute))
	must(t, err)
	if len(again) != 0 {
		t.Errorf("second MarkStaleRunners = %v, want none (already offline)", again)
	}
	got, err = db.Runner(ctx, r.ID)
	must(t, err)
	if got.Status != codepod.RunnerOffline {
		t.Errorf("stale runner status = %s, want offline", got.Status)
	}

	runners, next, err := db.ListRunners(ctx, codepod.Page{Limit: 1})
	must(t, err)
	if len(runners) != 1 || runners[0].ID != r.ID || next == "" {
		t.Fatalf("ListRunners page 1 = %+v, next %q", runners, next)
	}
	runners, next, err = db.ListRunners(ctx, codepod.Page{Limit: 1, Cursor: next})
	must(t, err)
	if len(runners) != 1 || runners[0].ID != fresh.ID || next != "" {
		t.Fatalf("ListRunners page 2 = %+v, next %q", runners, next)
	}

	// Deleting a runner unplaces its sandboxes and drops its jobs.
	owner := newUser(t, db, "ada@example.com")
	sb := &codepod.Sandbox{Name: "box", OwnerID: owner.ID, RunnerID: r.ID}
	must(t, db.CreateSandbox(ctx, sb))
	job := &codepod.Job{Kind: codepod.JobCreate, SandboxID: sb.ID, RunnerID: r.ID}
	must(t, db.EnqueueJob(ctx, job))
	must(t, db.DeleteRunner(ctx, r.ID))
	wantCode(t, db.DeleteRunner(ctx, r.ID), codepod.ENOTFOUND)
	sbNow, err := db.Sandbox(ctx, sb.ID)
	must(t, err)
	if sbNow.RunnerID != "" {
		t.Errorf("sandbox still placed on deleted runner %s", sbNow.RunnerID)
	}
	_, err = db.Job(ctx, job.ID)
	wantCode(t, err, codepod.ENOTFOUND)
}
