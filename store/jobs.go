package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type jobRow struct {
	bun.BaseModel `bun:"table:jobs,alias:j"`

	ID             string     `bun:"id,pk"`
	Kind           string     `bun:"kind"`
	SandboxID      string     `bun:"sandbox_id,nullzero"`
	RunnerID       string     `bun:"runner_id,nullzero"`
	Payload        string     `bun:"payload,nullzero"`
	Status         string     `bun:"status"`
	LeaseExpiresAt *time.Time `bun:"lease_expires_at"`
	Attempts       int        `bun:"attempts"`
	Error          string     `bun:"error"`
	Result         string     `bun:"result,nullzero"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

func (r *jobRow) job() codepod.Job {
	return codepod.Job{ID: r.ID, Kind: codepod.JobKind(r.Kind), SandboxID: r.SandboxID, RunnerID: r.RunnerID,
		Payload: jsonBytes(r.Payload), Status: codepod.JobStatus(r.Status),
		LeaseExpiresAt: dbTimePtr(r.LeaseExpiresAt), Attempts: r.Attempts, Error: r.Error,
		Result: jsonBytes(r.Result), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// EnqueueJob inserts j, assigning its ID, CreatedAt and UpdatedAt when they
// are empty; an empty Status becomes queued. Payload and Result must be JSON
// (PostgreSQL gives them back reformatted, as jsonb does).
func (db *DB) EnqueueJob(ctx context.Context, j *codepod.Job) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.EnqueueJob(ctx, j) })
	}
	payload, err := rawJSON(j.Payload, "job payload")
	if err != nil {
		return err
	}
	result, err := rawJSON(j.Result, "job result")
	if err != nil {
		return err
	}
	setID(&j.ID, PrefixJob)
	t := now()
	stamp(&j.CreatedAt, t)
	stamp(&j.UpdatedAt, t)
	if j.Status == "" {
		j.Status = codepod.JobQueued
	}
	j.LeaseExpiresAt = dbTimePtr(j.LeaseExpiresAt)
	row := jobRow{ID: j.ID, Kind: string(j.Kind), SandboxID: j.SandboxID, RunnerID: j.RunnerID,
		Payload: payload, Status: string(j.Status), LeaseExpiresAt: j.LeaseExpiresAt, Attempts: j.Attempts,
		Error: j.Error, Result: result, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt}
	_, err = db.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(err, "enqueue job", conflicts{"": fmt.Sprintf("a job with id %q already exists", j.ID)})
}

// Job returns the job with id.
func (db *DB) Job(ctx context.Context, id string) (*codepod.Job, error) {
	var row jobRow
	if err := db.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "get job", "job", id)
	}
	j := row.job()
	return &j, nil
}

// ExtendLease moves the lease of job jobID, leased by runnerID, to until.
// A job of another runner, or one no longer leased, is an ECONFLICT.
func (db *DB) ExtendLease(ctx context.Context, runnerID, jobID string, until time.Time) error {
	res, err := db.idb.NewUpdate().Model((*jobRow)(nil)).
		Set("lease_expires_at = ?", dbTime(until)).Set("updated_at = ?", now()).
		Where("id = ?", jobID).Where("runner_id = ?", runnerID).Where("status = ?", codepod.JobLeased).
		Exec(ctx)
	if err := mustAffect(res, err, "extend job lease", "job", jobID); codepod.ErrorCode(err) != codepod.ENOTFOUND {
		return err
	}
	if _, err := db.Job(ctx, jobID); err != nil {
		return err
	}
	return codepod.Errorf(codepod.ECONFLICT, "job %q is not leased by this runner", jobID)
}

// FinishJob marks job jobID, leased by runnerID, done or failed. A job this
// runner already finished gives (job, false, nil); a job it does not hold
// gives ECONFLICT.
func (db *DB) FinishJob(ctx context.Context, runnerID, jobID string, status codepod.JobStatus,
	result []byte, errMsg string) (*codepod.Job, bool, error) {
	if status != codepod.JobDone && status != codepod.JobFailed {
		return nil, false, codepod.Errorf(codepod.EINVALID, "a job finishes %q or %q, not %q", codepod.JobDone, codepod.JobFailed, status)
	}
	res, err := rawJSON(result, "job result")
	if err != nil {
		return nil, false, err
	}
	var row jobRow
	err = db.idb.NewUpdate().Model(&row).
		Set("status = ?", string(status)).Set("result = ?", nullIfEmpty(res)).
		Set("error = ?", codepod.TruncateUTF8(errMsg, maxJobError)).
		Set(db.scrubPayload()).Set("lease_expires_at = NULL").Set("updated_at = ?", now()).
		Where("id = ?", jobID).Where("runner_id = ?", runnerID).Where("status = ?", codepod.JobLeased).
		Returning("*").Scan(ctx)
	if err == nil {
		j := row.job()
		return &j, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, dbError(err, "finish job", nil)
	}
	return db.finishedAlready(ctx, runnerID, jobID)
}

// maxJobError bounds the error text stored with a job.
const maxJobError = 64 << 10

// finishedAlready explains why FinishJob changed nothing.
func (db *DB) finishedAlready(ctx context.Context, runnerID, jobID string) (*codepod.Job, bool, error) {
	j, err := db.Job(ctx, jobID)
	if err != nil {
		return nil, false, err
	}
	if j.RunnerID == runnerID && (j.Status == codepod.JobDone || j.Status == codepod.JobFailed) {
		return j, false, nil
	}
	return nil, false, codepod.Errorf(codepod.ECONFLICT, "job %q is not leased by this runner", jobID)
}

// CancelJobs marks the queued and leased jobs of sandboxID failed with
// reason. A runner's later report on one of them is not applied.
func (db *DB) CancelJobs(ctx context.Context, sandboxID, reason string) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CancelJobs(ctx, sandboxID, reason) })
	}
	_, err := db.idb.NewUpdate().Model((*jobRow)(nil)).
		Set("status = ?", codepod.JobFailed).Set("error = ?", reason).
		Set(db.scrubPayload()).Set("lease_expires_at = NULL").Set("updated_at = ?", now()).
		Where("sandbox_id = ?", sandboxID).
		Where("status IN (?)", bun.In([]codepod.JobStatus{codepod.JobQueued, codepod.JobLeased})).
		Exec(ctx)
	return dbError(err, "cancel jobs", nil)
}

// CountJobsByStatus returns how many jobs are in each status (statuses
// without jobs are absent).
func (db *DB) CountJobsByStatus(ctx context.Context) (map[codepod.JobStatus]int, error) {
	counts, err := countByStatus(ctx, db.idb.NewSelect().Model((*jobRow)(nil)))
	if err != nil {
		return nil, dbError(err, "count jobs", nil)
	}
	out := make(map[codepod.JobStatus]int, len(counts))
	for s, n := range counts {
		out[codepod.JobStatus(s)] = n
	}
	return out, nil
}

// scrubPayload is the SET clause that drops the sandbox's SSH secret from a
// job's payload: a finished job has no use for it, and job rows outlive
// the sandbox's own row.
func (db *DB) scrubPayload() string {
	if db.dialect == DialectPostgres {
		return "payload = payload - 'ssh_secret'"
	}
	return "payload = json_remove(payload, '$.ssh_secret')"
}

// PruneJobs deletes done and failed jobs last updated before before.
func (db *DB) PruneJobs(ctx context.Context, before time.Time) (int, error) {
	res, err := db.idb.NewDelete().Model((*jobRow)(nil)).
		Where("status IN (?)", bun.In([]codepod.JobStatus{codepod.JobDone, codepod.JobFailed})).
		Where("updated_at < ?", dbTime(before)).Exec(ctx)
	return affected(res, err, "prune jobs")
}

// PruneSandboxes deletes sandboxes deleted before before; their jobs go
// with them (ON DELETE CASCADE).
func (db *DB) PruneSandboxes(ctx context.Context, before time.Time) (int, error) {
	res, err := db.idb.NewDelete().Model((*sandboxRow)(nil)).
		Where("status = ?", codepod.SandboxDeleted).Where("updated_at < ?", dbTime(before)).Exec(ctx)
	return affected(res, err, "prune sandboxes")
}

// affected is how many rows a statement changed.
func affected(res sql.Result, err error, op string) (int, error) {
	if err != nil {
		return 0, dbError(err, op, nil)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err, op, nil)
}
