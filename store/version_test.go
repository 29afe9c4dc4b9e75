package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/codepod-dev/codepod"
)

// testSandboxVersion: UpdateSandbox writes only on the version it names,
// and enqueues its jobs and cancels the old ones in the same transaction.
func testSandboxVersion(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner, r := newUser(t, db, "ada@example.com"), newRunner(t, db, "host")
	s := newSandbox(t, db, owner.ID, "box", nil)
	if s.Version != 1 {
		t.Fatalf("new sandbox version %d, want 1", s.Version)
	}
	create := &codepod.Job{Kind: codepod.JobCreate, RunnerID: r.ID, Payload: []byte(`{}`)}
	u, err := db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{RunnerID: &r.ID}, create)
	must(t, err)
	if u.Version != 2 || u.RunnerID != r.ID || create.SandboxID != s.ID {
		t.Fatalf("after a write: version %d, runner %q, job's sandbox %q", u.Version, u.RunnerID, create.SandboxID)
	}
	stale := &codepod.Job{Kind: codepod.JobCreate, RunnerID: r.ID, Payload: []byte(`{}`)}
	_, err = db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{Reason: ptr("x")}, stale)
	if !errors.Is(err, codepod.ErrVersionConflict) {
		t.Fatalf("stale write: %v, want ErrVersionConflict", err)
	}
	if _, err := db.Job(ctx, stale.ID); stale.ID != "" && codepod.ErrorCode(err) != codepod.ENOTFOUND {
		t.Fatalf("a stale write enqueued its job: %v", err)
	}
	del := &codepod.Job{Kind: codepod.JobDelete, RunnerID: r.ID, Payload: []byte(`{}`)}
	_, err = db.UpdateSandbox(ctx, s.ID, 2, codepod.SandboxUpdate{Status: ptr(codepod.SandboxDeleting), CancelJobs: ptr("deleted")}, del)
	must(t, err)
	j, err := db.Job(ctx, create.ID)
	must(t, err)
	if j.Status != codepod.JobFailed || j.Error != "deleted" {
		t.Errorf("the create job after a cancelling write: %s %q", j.Status, j.Error)
	}
	if j, err := db.Job(ctx, del.ID); err != nil || j.Status != codepod.JobQueued {
		t.Errorf("the delete job: %+v, %v", j, err)
	}
}

// testSandboxVersionRace: of writers that read the same version, exactly
// one wins.
func testSandboxVersionRace(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	s := newSandbox(t, db, newUser(t, db, "ada@example.com").ID, "box", nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 20 {
		wg.Go(func() {
			_, err := db.UpdateSandbox(ctx, s.ID, 1, codepod.SandboxUpdate{Status: ptr(codepod.SandboxRunning)})
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case !errors.Is(err, codepod.ErrVersionConflict):
				t.Errorf("UpdateSandbox: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := db.Sandbox(ctx, s.ID)
	must(t, err)
	if won != 1 || got.Version != 2 {
		t.Fatalf("%d writers of version 1 won, version now %d; want 1 and 2", won, got.Version)
	}
}

// testJobText: a job's error text of any bytes — 4 MiB of multi-byte
// characters starting at every offset inside one, invalid UTF-8, NULs —
// is saved (PostgreSQL refuses invalid UTF-8 and NUL in text), cut on a
// character boundary.
func testJobText(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	r := newRunner(t, db, "host")
	big := strings.Repeat("é€😀", (4<<20)/9) + "\x00\xff"
	for off := range 4 {
		j := &codepod.Job{Kind: codepod.JobStop, RunnerID: r.ID}
		must(t, db.EnqueueJob(ctx, j))
		_, _, err := db.ClaimJobs(ctx, r.ID, time.Now(), time.Minute, 1)
		must(t, err)
		_, applied, err := db.FinishJob(ctx, r.ID, j.ID, codepod.JobFailed, nil, big[off:])
		must(t, err)
		got, err := db.Job(ctx, j.ID)
		must(t, err)
		if !applied || !utf8.ValidString(got.Error) || got.Error == "" || strings.ContainsRune(got.Error, 0) {
			t.Fatalf("offset %d: applied %v, error of %d bytes, valid %v", off, applied, len(got.Error), utf8.ValidString(got.Error))
		}
	}
}
