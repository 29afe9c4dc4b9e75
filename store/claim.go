package store

import (
	"context"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

// ClaimJobs leases up to max jobs of runnerID, oldest first: queued ones and
// leased ones whose lease ran out before now. Each gets status leased, a
// lease until now+lease and one more attempt. expired counts the returned
// jobs that were re-leased after their lease ran out.
//
// It is one short transaction. On PostgreSQL the candidates are selected FOR
// UPDATE SKIP LOCKED, so concurrent claimers skip each other's rows; on
// SQLite the transaction begins as the single writer (BEGIN IMMEDIATE), so no
// other claimer reads in between.
func (db *DB) ClaimJobs(ctx context.Context, runnerID string, now time.Time, lease time.Duration,
	max int) ([]codepod.Job, int, error) {
	if max <= 0 {
		return nil, 0, nil
	}
	now = dbTime(now)
	var jobs []codepod.Job
	expired := 0
	err := db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		var err error
		jobs, expired, err = tx.claim(ctx, runnerID, now, dbTime(now.Add(lease)), max)
		return err
	})
	if err != nil {
		return nil, 0, dbError(err, "claim jobs", nil)
	}
	return jobs, expired, nil
}

// HasDueJobs reports whether runnerID has a queued job or a leased one
// whose lease expired before now: what ClaimJobs would lease.
func (db *DB) HasDueJobs(ctx context.Context, runnerID string, now time.Time) (bool, error) {
	ok, err := db.idb.NewSelect().Model((*jobRow)(nil)).Column("id").
		Where("runner_id = ?", runnerID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("status = ?", codepod.JobQueued).
				WhereOr("status = ? AND lease_expires_at < ?", codepod.JobLeased, dbTime(now))
		}).Limit(1).Exists(ctx)
	if err != nil {
		return false, dbError(err, "look for due jobs", nil)
	}
	return ok, nil
}

func (db *DB) claim(ctx context.Context, runnerID string, now, until time.Time, max int) ([]codepod.Job, int, error) {
	var cands []struct {
		ID     string `bun:"id"`
		Status string `bun:"status"`
	}
	q := db.idb.NewSelect().Model((*jobRow)(nil)).Column("id", "status").
		Where("runner_id = ?", runnerID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("status = ?", codepod.JobQueued).
				WhereOr("status = ? AND lease_expires_at < ?", codepod.JobLeased, now)
		}).
		Order("created_at", "id").Limit(int64(max))
	if db.dialect == DialectPostgres {
		q = q.For("UPDATE SKIP LOCKED")
	}
	if err := q.Scan(ctx, &cands); err != nil || len(cands) == 0 {
		return nil, 0, err
	}
	ids, expired := make([]string, len(cands)), 0
	for i, c := range cands {
		ids[i] = c.ID
		if c.Status == string(codepod.JobLeased) {
			expired++
		}
	}
	var rows []jobRow
	err := db.idb.NewUpdate().Model((*jobRow)(nil)).
		Set("status = ?", codepod.JobLeased).Set("lease_expires_at = ?", until).
		Set("attempts = attempts + 1").Set("updated_at = ?", now).
		Where("id IN (?)", bun.In(ids)).Returning("*").Scan(ctx, &rows)
	if err != nil {
		return nil, 0, err
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].CreatedAt.Equal(rows[j].CreatedAt) {
			return rows[i].CreatedAt.Before(rows[j].CreatedAt)
		}
		return rows[i].ID < rows[j].ID
	})
	return convert(rows, (*jobRow).job), expired, nil
}
