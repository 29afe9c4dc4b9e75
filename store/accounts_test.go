package store_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/store"
)

// TestAccounts runs the account lifecycle, quota and housekeeping cases on
// SQLite and PostgreSQL.
func TestAccounts(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, b backend)
	}{
		{"disable_and_quota", testDisableAndQuota},
		{"delete_user", testDeleteUser},
		{"quota_usage", testQuotaUsage},
		{"finished_job_has_no_secret", testFinishedJobHasNoSecret},
		{"prune", testPrune},
		{"api_key_and_user", testAPIKeyAndUser},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, b) })
			}
		})
	}
}

func testDisableAndQuota(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	u := newUser(t, db, "ada@example.com")
	at := time.Now().UTC().Truncate(time.Second)
	q := codepod.QuotaOverride{Sandboxes: ptr(3), MemoryBytes: ptr(int64(4 << 30))}
	got, err := db.UpdateUser(ctx, u.ID, codepod.UserUpdate{DisabledAt: ptr(&at), Quota: &q})
	must(t, err)
	if got.DisabledAt == nil || !got.DisabledAt.Equal(at) || !got.Disabled() {
		t.Fatalf("DisabledAt = %v, want %v", got.DisabledAt, at)
	}
	if got.Quota.Sandboxes == nil || *got.Quota.Sandboxes != 3 || *got.Quota.MemoryBytes != 4<<30 || got.Quota.CPU != nil {
		t.Fatalf("Quota = %+v, want sandboxes 3 and memory 4g only", got.Quota)
	}
	got, err = db.UpdateUser(ctx, u.ID, codepod.UserUpdate{DisabledAt: new(*time.Time)})
	must(t, err)
	if got.Disabled() || got.Quota.Sandboxes == nil {
		t.Fatalf("after enable: %+v, want enabled with the quota kept", got)
	}
	_, err = db.UpdateUser(ctx, "usr_missing", codepod.UserUpdate{Deleting: ptr(true)})
	wantCode(t, err, codepod.ENOTFOUND)
}

func testDeleteUser(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	u := newUser(t, db, "ada@example.com")
	keep := newUser(t, db, "bob@example.com")
	must(t, db.CreateAPIKey(ctx, &codepod.APIKey{UserID: u.ID, Name: "k", Prefix: "cpk_x", Hash: []byte("h")}))
	sb := newSandbox(t, db, u.ID, "box", nil)
	newSandbox(t, db, keep.ID, "box", nil)

	wantCode(t, db.DeleteUser(ctx, u.ID), codepod.ECONFLICT, "1 sandboxes")
	_, err := db.UpdateUser(ctx, u.ID, codepod.UserUpdate{Deleting: ptr(true)})
	must(t, err)
	deleting, err := db.DeletingUsers(ctx, 10)
	must(t, err)
	if len(deleting) != 1 || deleting[0].ID != u.ID {
		t.Fatalf("DeletingUsers = %+v, want only %s", deleting, u.ID)
	}
	cur, err := db.Sandbox(ctx, sb.ID)
	must(t, err)
	_, err = db.UpdateSandbox(ctx, sb.ID, cur.Version, codepod.SandboxUpdate{Status: ptr(codepod.SandboxDeleted)})
	must(t, err)
	must(t, db.DeleteUser(ctx, u.ID))
	_, err = db.User(ctx, u.ID)
	wantCode(t, err, codepod.ENOTFOUND)
	keys, _, err := db.ListAPIKeys(ctx, u.ID, codepod.Page{})
	must(t, err)
	if len(keys) != 0 {
		t.Errorf("the deleted user still has %d keys", len(keys))
	}
	if _, err := db.SandboxByName(ctx, codepod.PersonalWorkspaceID(keep.ID), "box"); err != nil {
		t.Errorf("another user's sandbox went with the deleted user: %v", err)
	}
	wantCode(t, db.DeleteUser(ctx, u.ID), codepod.ENOTFOUND)
}

// testAPIKeyAndUser checks the one-query read that authenticates a
// request: it sees the key's and the user's current rows, and a deleted key
// is ENOTFOUND at once.
func testAPIKeyAndUser(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	u := newUser(t, db, "ada@example.com")
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	k := &codepod.APIKey{UserID: u.ID, Name: "k", Prefix: "cpk_x", Hash: []byte("h"), ExpiresAt: &exp, ReadOnly: true}
	must(t, db.CreateAPIKey(ctx, k))
	q := codepod.QuotaOverride{Sandboxes: ptr(3)}
	at := time.Now().UTC().Truncate(time.Second)
	_, err := db.UpdateUser(ctx, u.ID, codepod.UserUpdate{DisabledAt: ptr(&at), Quota: &q})
	must(t, err)
	wantKey, err := db.APIKey(ctx, k.ID)
	must(t, err)
	wantUser, err := db.User(ctx, u.ID)
	must(t, err)
	gotKey, gotUser, err := db.APIKeyAndUser(ctx, k.ID)
	must(t, err)
	if !reflect.DeepEqual(gotKey, wantKey) {
		t.Errorf("key\n%+v, want\n%+v", gotKey, wantKey)
	}
	if !reflect.DeepEqual(gotUser, wantUser) || !gotUser.Disabled() {
		t.Errorf("user\n%+v, want\n%+v (disabled)", gotUser, wantUser)
	}
	must(t, db.DeleteAPIKey(ctx, u.ID, k.ID))
	_, _, err = db.APIKeyAndUser(ctx, k.ID)
	wantCode(t, err, codepod.ENOTFOUND)
	_, _, err = db.APIKeyAndUser(ctx, "key_missing")
	wantCode(t, err, codepod.ENOTFOUND)
}

func testQuotaUsage(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	u := newUser(t, db, "ada@example.com")
	for i, st := range codepod.SandboxStatuses {
		s := &codepod.Sandbox{Name: "b" + string(rune('a'+i)), OwnerID: u.ID, Status: st,
			Spec: codepod.SandboxSpec{Image: codepod.TinyImage, CPU: 0.5, MemoryBytes: 100 << 20}}
		must(t, db.CreateSandbox(ctx, s))
	}
	var usage codepod.QuotaUsage
	must(t, db.InTx(ctx, func(tx codepod.Store) error {
		var err error
		usage, err = tx.QuotaUsage(ctx, codepod.PersonalWorkspaceID(u.ID))
		return err
	}))
	// Of the ten statuses, deleted, error and lost hold nothing.
	if usage.Sandboxes != 7 || usage.CPU != 3.5 || usage.MemoryBytes != 700<<20 {
		t.Fatalf("QuotaUsage = %+v, want 7 sandboxes, 3.5 CPUs, 700 MiB", usage)
	}
	if _, err := db.QuotaUsage(ctx, "usr_nobody"); err != nil {
		t.Fatalf("QuotaUsage of a user without sandboxes outside a transaction: %v", err)
	}
}

func testFinishedJobHasNoSecret(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	u := newUser(t, db, "ada@example.com")
	r := newRunner(t, db, "host")
	sb := newSandbox(t, db, u.ID, "box", nil)
	done := &codepod.Job{Kind: codepod.JobCreate, SandboxID: sb.ID, RunnerID: r.ID,
		Payload: json.RawMessage(`{"id":"x","ssh_secret":"c2VjcmV0"}`)}
	must(t, db.EnqueueJob(ctx, done))
	cancelled := &codepod.Job{Kind: codepod.JobStart, SandboxID: sb.ID, RunnerID: r.ID,
		Payload: json.RawMessage(`{"id":"x","ssh_secret":"c2VjcmV0"}`)}
	_, _, err := db.ClaimJobs(ctx, r.ID, time.Now(), time.Minute, 1)
	must(t, err)
	must(t, db.EnqueueJob(ctx, cancelled))
	_, _, err = db.FinishJob(ctx, r.ID, done.ID, codepod.JobDone, nil, "")
	must(t, err)
	must(t, db.CancelJobs(ctx, sb.ID, "sandbox deleted"))
	for _, id := range []string{done.ID, cancelled.ID} {
		j, err := db.Job(ctx, id)
		must(t, err)
		if strings.Contains(string(j.Payload), "ssh_secret") || !strings.Contains(string(j.Payload), `"id"`) {
			t.Errorf("finished job %s keeps payload %s; want it without ssh_secret and with the rest", id, j.Payload)
		}
	}
}

func testPrune(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	db := openURL(t, url, nil)
	raw := b.raw(t, url)
	u := newUser(t, db, "ada@example.com")
	r := newRunner(t, db, "host")
	oldBox, newBox, liveBox := newSandbox(t, db, u.ID, "old", nil), newSandbox(t, db, u.ID, "new", nil), newSandbox(t, db, u.ID, "live", nil)
	for _, s := range []*codepod.Sandbox{oldBox, newBox} {
		cur, err := db.Sandbox(ctx, s.ID)
		must(t, err)
		_, err = db.UpdateSandbox(ctx, s.ID, cur.Version, codepod.SandboxUpdate{Status: ptr(codepod.SandboxDeleted)})
		must(t, err)
	}
	var jobs []*codepod.Job
	for _, st := range []codepod.JobStatus{codepod.JobDone, codepod.JobFailed, codepod.JobQueued, codepod.JobDone} {
		j := &codepod.Job{Kind: codepod.JobStop, SandboxID: liveBox.ID, RunnerID: r.ID, Status: st}
		must(t, db.EnqueueJob(ctx, j))
		jobs = append(jobs, j)
	}
	week := time.Now().Add(-8 * 24 * time.Hour).UTC()
	age := func(table, id string) {
		q := "UPDATE " + table + " SET updated_at = $1 WHERE id = $2"
		if b.name == "sqlite" {
			q = "UPDATE " + table + " SET updated_at = ? WHERE id = ?"
		}
		if _, err := raw.ExecContext(ctx, q, week, id); err != nil {
			t.Fatal(err)
		}
	}
	age("sandboxes", oldBox.ID)
	age("jobs", jobs[0].ID)
	age("jobs", jobs[1].ID)
	age("jobs", jobs[2].ID) // queued: never pruned, however old

	cut := time.Now().Add(-24 * time.Hour)
	n, err := db.PruneJobs(ctx, cut)
	must(t, err)
	if n != 2 {
		t.Errorf("PruneJobs = %d, want 2 (the old done and failed jobs)", n)
	}
	for i, want := range []bool{false, false, true, true} {
		if _, err := db.Job(ctx, jobs[i].ID); (err == nil) != want {
			t.Errorf("job %d (%s) kept=%v, want %v", i, jobs[i].Status, err == nil, want)
		}
	}
	n, err = db.PruneSandboxes(ctx, cut)
	must(t, err)
	if n != 1 {
		t.Errorf("PruneSandboxes = %d, want 1", n)
	}
	if _, err := db.Sandbox(ctx, oldBox.ID); codepod.ErrorCode(err) != codepod.ENOTFOUND {
		t.Errorf("old deleted sandbox still there: %v", err)
	}
	for _, s := range []*codepod.Sandbox{newBox, liveBox} {
		if _, err := db.Sandbox(ctx, s.ID); err != nil {
			t.Errorf("sandbox %s pruned too early: %v", s.Name, err)
		}
	}
}

// TestAttackDatabaseFilesReadable checks that the data directory and the
// SQLite files are private to the server's user even when they existed
// before with open modes.
func TestAttackDatabaseFilesReadable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	must(t, os.Mkdir(dir, 0o755))
	path := filepath.Join(dir, "codepod.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		must(t, os.WriteFile(p, nil, 0o644))
	}
	must(t, os.Remove(path+"-wal"))
	must(t, os.Remove(path+"-shm"))
	must(t, os.Chmod(path, 0o644))
	must(t, store.PrepareDataDir(dir))
	db := openURL(t, "sqlite://"+path, nil)
	newUser(t, db, "ada@example.com") // writes through the WAL
	wantMode(t, dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
	// Reopening fixes files another tool loosened.
	must(t, os.Chmod(path+"-wal", 0o644))
	openURL(t, "sqlite://"+path, nil)
	wantMode(t, path+"-wal", 0o600)
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	must(t, err)
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", filepath.Base(path), got, want)
	}
}
