package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

// jsonEqual compares JSON documents by value (jsonb reformats them).
func jsonEqual(t testing.TB, got, want []byte) bool {
	t.Helper()
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	return reflect.DeepEqual(g, w)
}

func testJobs(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	owner := newUser(t, db, "ada@example.com")
	r, other := newRunner(t, db, "one"), newRunner(t, db, "two")
	sb := newSandbox(t, db, owner.ID, "box", nil)

	j := &codepod.Job{Kind: codepod.JobCreate, SandboxID: sb.ID, RunnerID: r.ID, Payload: json.RawMessage(`{"image":"x"}`)}
	must(t, db.EnqueueJob(ctx, j))
	if !strings.HasPrefix(j.ID, "job_") || j.Status != codepod.JobQueued {
		t.Fatalf("EnqueueJob filled %+v", j)
	}
	got, err := db.Job(ctx, j.ID)
	must(t, err)
	if !jsonEqual(t, got.Payload, j.Payload) {
		t.Errorf("payload = %s, want %s", got.Payload, j.Payload)
	}
	got.Payload = j.Payload
	if !reflect.DeepEqual(got, j) {
		t.Errorf("Job = %+v, want %+v", got, j)
	}
	_, err = db.Job(ctx, "job_missing")
	wantCode(t, err, codepod.ENOTFOUND, "job_missing")
	wantCode(t, db.EnqueueJob(ctx, &codepod.Job{Kind: codepod.JobStop, RunnerID: r.ID, Payload: []byte("{bad")}), codepod.EINVALID)
	j2 := &codepod.Job{Kind: codepod.JobStop, SandboxID: sb.ID, RunnerID: r.ID}
	must(t, db.EnqueueJob(ctx, j2))
	must(t, db.EnqueueJob(ctx, &codepod.Job{Kind: codepod.JobStop, RunnerID: other.ID}))

	now := time.Now()
	if due, err := db.HasDueJobs(ctx, r.ID, now); err != nil || !due {
		t.Errorf("HasDueJobs before the claim = %v, %v; want true", due, err)
	}
	claimed, expired, err := db.ClaimJobs(ctx, r.ID, now, time.Minute, 10)
	must(t, err)
	if len(claimed) != 2 || claimed[0].ID != j.ID || claimed[1].ID != j2.ID || expired != 0 {
		t.Fatalf("ClaimJobs = %+v (expired %d), want [%s %s] oldest first", claimed, expired, j.ID, j2.ID)
	}
	c := claimed[0]
	if c.Status != codepod.JobLeased || c.Attempts != 1 || c.LeaseExpiresAt == nil ||
		c.LeaseExpiresAt.Sub(now.Add(time.Minute)).Abs() > time.Millisecond {
		t.Errorf("claimed job = %+v, want leased until now+1m with one attempt", c)
	}
	if more, _, err := db.ClaimJobs(ctx, r.ID, now, time.Minute, 10); err != nil || len(more) != 0 {
		t.Errorf("second ClaimJobs = %v, %v; want nothing while the leases run", more, err)
	}
	if due, err := db.HasDueJobs(ctx, r.ID, now); err != nil || due {
		t.Errorf("HasDueJobs while the leases run = %v, %v; want false", due, err)
	}
	if due, err := db.HasDueJobs(ctx, r.ID, now.Add(2*time.Minute)); err != nil || !due {
		t.Errorf("HasDueJobs after the leases ran out = %v, %v; want true", due, err)
	}

	must(t, db.ExtendLease(ctx, r.ID, j.ID, now.Add(time.Hour)))
	got, err = db.Job(ctx, j.ID)
	must(t, err)
	if got.LeaseExpiresAt.Sub(now.Add(time.Hour)).Abs() > time.Millisecond {
		t.Errorf("lease after ExtendLease = %v", got.LeaseExpiresAt)
	}
	wantCode(t, db.ExtendLease(ctx, other.ID, j.ID, now), codepod.ECONFLICT, "not leased by this runner")
	wantCode(t, db.ExtendLease(ctx, r.ID, "job_missing", now), codepod.ENOTFOUND)

	_, _, err = db.FinishJob(ctx, other.ID, j.ID, codepod.JobDone, nil, "")
	wantCode(t, err, codepod.ECONFLICT, "not leased by this runner")
	_, _, err = db.FinishJob(ctx, r.ID, "job_missing", codepod.JobDone, nil, "")
	wantCode(t, err, codepod.ENOTFOUND)
	_, _, err = db.FinishJob(ctx, r.ID, j.ID, codepod.JobLeased, nil, "")
	wantCode(t, err, codepod.EINVALID)

	result := []byte(`{"host_key_fingerprint":"SHA256:x"}`)
	done, applied, err := db.FinishJob(ctx, r.ID, j.ID, codepod.JobDone, result, "")
	must(t, err)
	if !applied || done.Status != codepod.JobDone || done.LeaseExpiresAt != nil || !jsonEqual(t, done.Result, result) {
		t.Errorf("FinishJob = %+v, applied %v", done, applied)
	}
	again, applied, err := db.FinishJob(ctx, r.ID, j.ID, codepod.JobFailed, nil, "late")
	must(t, err)
	if applied || again.Status != codepod.JobDone || again.Error != "" {
		t.Errorf("repeated FinishJob = %+v, applied %v; want the first result kept and applied=false", again, applied)
	}
	wantCode(t, db.ExtendLease(ctx, r.ID, j.ID, now), codepod.ECONFLICT)

	must(t, db.CancelJobs(ctx, sb.ID, "sandbox deleted"))
	got, err = db.Job(ctx, j2.ID)
	must(t, err)
	if got.Status != codepod.JobFailed || got.Error != "sandbox deleted" || got.LeaseExpiresAt != nil {
		t.Errorf("cancelled job = %+v", got)
	}
	if _, applied, err := db.FinishJob(ctx, r.ID, j2.ID, codepod.JobDone, nil, ""); err != nil || applied {
		t.Errorf("FinishJob of a cancelled job: applied %v, err %v; want not applied", applied, err)
	}
	got, err = db.Job(ctx, j.ID)
	must(t, err)
	if got.Status != codepod.JobDone {
		t.Errorf("CancelJobs touched a finished job: %+v", got)
	}
	counts, err := db.CountJobsByStatus(ctx)
	must(t, err)
	if want := map[codepod.JobStatus]int{codepod.JobDone: 1, codepod.JobFailed: 1, codepod.JobQueued: 1}; !reflect.DeepEqual(counts, want) {
		t.Errorf("CountJobsByStatus = %v, want %v", counts, want)
	}
}

func testClaimExpired(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	r := newRunner(t, db, "one")
	j := &codepod.Job{Kind: codepod.JobStart, RunnerID: r.ID}
	must(t, db.EnqueueJob(ctx, j))

	t0 := time.Now()
	first, expired, err := db.ClaimJobs(ctx, r.ID, t0, 10*time.Second, 5)
	must(t, err)
	if len(first) != 1 || expired != 0 {
		t.Fatalf("first claim = %d jobs, %d expired", len(first), expired)
	}
	if jobs, _, err := db.ClaimJobs(ctx, r.ID, t0.Add(9*time.Second), 10*time.Second, 5); err != nil || len(jobs) != 0 {
		t.Fatalf("claim before the lease ran out = %v, %v", jobs, err)
	}
	again, expired, err := db.ClaimJobs(ctx, r.ID, t0.Add(11*time.Second), 10*time.Second, 5)
	must(t, err)
	if len(again) != 1 || expired != 1 || again[0].Attempts != 2 {
		t.Fatalf("claim after the lease ran out = %+v, expired %d; want the job with 2 attempts, 1 expired", again, expired)
	}
	// The runner's late report of the first attempt still counts, once.
	if _, applied, err := db.FinishJob(ctx, r.ID, j.ID, codepod.JobDone, nil, ""); err != nil || !applied {
		t.Fatalf("FinishJob = applied %v, %v", applied, err)
	}
	if _, applied, err := db.FinishJob(ctx, r.ID, j.ID, codepod.JobDone, nil, ""); err != nil || applied {
		t.Fatalf("second FinishJob = applied %v, %v", applied, err)
	}
}

// testClaimConcurrent has 20 claimers race for 200 jobs: every job must be
// leased exactly once, and no claimer may see an error (e.g. SQLITE_BUSY).
func testClaimConcurrent(t *testing.T, b backend) {
	ctx := context.Background()
	db := open(t, b)
	r := newRunner(t, db, "one")
	must(t, db.InTx(ctx, func(tx codepod.Store) error {
		for range 200 {
			if err := tx.EnqueueJob(ctx, &codepod.Job{Kind: codepod.JobTunnel, RunnerID: r.ID}); err != nil {
				return err
			}
		}
		return nil
	}))

	var (
		mu     sync.Mutex
		leased = map[string]int{}
		errs   []error
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for range 20 {
		wg.Go(func() {
			<-start
			for {
				jobs, _, err := db.ClaimJobs(ctx, r.ID, time.Now(), time.Hour, 3)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, j := range jobs {
					leased[j.ID]++
				}
				mu.Unlock()
				if err != nil || len(jobs) == 0 {
					return
				}
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("20 claimers leased %d jobs in %v", len(leased), time.Since(began))
	for _, err := range errs {
		t.Errorf("ClaimJobs: %v", err)
	}
	if len(leased) != 200 {
		t.Errorf("%d distinct jobs leased, want 200", len(leased))
	}
	for id, n := range leased {
		if n != 1 {
			t.Errorf("job %s leased %d times", id, n)
		}
	}
	counts, err := db.CountJobsByStatus(ctx)
	must(t, err)
	if counts[codepod.JobLeased] != 200 {
		t.Errorf("job counts = %v, want 200 leased", counts)
	}
}
