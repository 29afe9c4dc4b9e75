package control_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/wire"
)

// refusingStore is the real store, except that it refuses to save a job
// that finished done — the fault a database gives for a result it cannot
// store, which the real store no longer produces for any text.
type refusingStore struct{ codepod.Store }

func (s refusingStore) InTx(ctx context.Context, fn func(tx codepod.Store) error) error {
	return s.Store.InTx(ctx, func(tx codepod.Store) error { return fn(refusingStore{tx}) })
}

func (s refusingStore) FinishJob(ctx context.Context, runnerID, jobID string, status codepod.JobStatus, result []byte, errMsg string) (*codepod.Job, bool, error) {
	if status == codepod.JobDone {
		return nil, false, errors.New("invalid byte sequence for encoding \"UTF8\"")
	}
	return s.Store.FinishJob(ctx, runnerID, jobID, status, result, errMsg)
}

// TestResultTheStoreRefusesFailsTheJob: a result that cannot be saved
// fails its job with a reason (and its sandbox goes to error) instead of
// leaving the job leased, to be run again and again.
func TestResultTheStoreRefusesFailsTheJob(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, quickConfig())
		svc := control.New(refusingStore{e.st}, quickConfig())
		r := e.runner("r1", nil, wire.Capacity{})
		sb := e.create(e.alice, "box", codepod.SandboxSpec{})
		j := e.pollOne(r, wire.KindCreate, sb.ID)
		if err := svc.Result(e.ctx, r, j.ID, wire.JobResult{OK: true}); err != nil {
			t.Fatalf("result: %v", err)
		}
		job, err := e.st.Job(e.ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if job.Status != codepod.JobFailed || !strings.Contains(job.Error, "could not save") {
			t.Fatalf("job is %s (%q); want failed with a reason", job.Status, job.Error)
		}
		e.wantStatus(sb.ID, codepod.SandboxError, "could not save")
		if jobs := e.quickPoll(e.svc, r, wire.PollRequest{}); len(jobs) != 0 {
			t.Fatalf("the job came back: %s", describe(jobs))
		}
	})
}
