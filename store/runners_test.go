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

	old := time.Now().Add(-time.Hour)
	must(t, db.TouchRunner(ctx, r.ID, old)) // never moves last_seen back
	got, err = db.Runner(ctx, r.ID)
	must(t, err)
	if !got.LastSeenAt.Equal(r.LastSeenAt) {
		t.Errorf("TouchRunner moved last_seen back: %v, was %v", got.LastSeenAt, r.LastSeenAt)
	}
	later := r.LastSeenAt.Add(time.Second)
	hb, err := db.HeartbeatRunner(ctx, r.ID, later, &codepod.Capacity{Sandboxes: 3}, nil)
	must(t, err)
	if hb.Capacity != (codepod.Capacity{Sandboxes: 3}) || !hb.LastSeenAt.Equal(later) || hb.Name != r.Name {
		t.Errorf("HeartbeatRunner = %+v", hb)
	}
	// A touch writes last_seen only: it cannot undo the capacity.
	must(t, db.TouchRunner(ctx, r.ID, later.Add(time.Second)))
	got, err = db.Runner(ctx, r.ID)
	must(t, err)
	if got.Capacity.Sandboxes != 3 || !got.LastSeenAt.Equal(later.Add(time.Second)) {
		t.Errorf("after TouchRunner, Runner = %+v", got)
	}
	locked, err := db.LockRunner(ctx, r.ID)
	must(t, err)
	if locked.ID != r.ID {
		t.Errorf("LockRunner = %+v", locked)
	}
	wantCode(t, db.TouchRunner(ctx, "run_missing", later), codepod.ENOTFOUND)
	_, err = db.HeartbeatRunner(ctx, "run_missing", later, nil, nil)
	wantCode(t, err, codepod.ENOTFOUND)

	cutoff := later.Add(2 * time.Second) // r was last seen before it
	fresh := &codepod.Runner{Name: "host-2", SecretHash: []byte("s"), LastSeenAt: cutoff.Add(time.Minute)}
	must(t, db.CreateRunner(ctx, fresh))
	stale, err := db.MarkStaleRunners(ctx, cutoff)
	must(t, err)
	if !reflect.DeepEqual(stale, []string{r.ID}) {
		t.Errorf("MarkStaleRunners = %v, want [%s]", stale, r.ID)
	}
	again, err := db.MarkStaleRunners(ctx, cutoff)
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
