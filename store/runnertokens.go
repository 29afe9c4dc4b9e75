package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type runnerTokenRow struct {
	bun.BaseModel `bun:"table:runner_tokens,alias:rt"`

	ID        string     `bun:"id,pk"`
	Prefix    string     `bun:"prefix"`
	Hash      []byte     `bun:"hash"`
	CreatedBy string     `bun:"created_by,nullzero"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt *time.Time `bun:"expires_at"`
}

func (r runnerTokenRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

func (r *runnerTokenRow) token() codepod.RunnerToken {
	return codepod.RunnerToken{ID: r.ID, Prefix: r.Prefix, Hash: r.Hash, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: dbTimePtr(r.ExpiresAt)}
}

// CreateRunnerToken inserts t, assigning its ID and CreatedAt when they are
// empty. CreatedBy may be "" (no user).
func (db *DB) CreateRunnerToken(ctx context.Context, t *codepod.RunnerToken) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateRunnerToken(ctx, t) })
	}
	setID(&t.ID, PrefixRunnerToken)
	codepod.SetAuditTarget(ctx, "runner_token", t.ID, "")
	stamp(&t.CreatedAt, now())
	t.ExpiresAt = dbTimePtr(t.ExpiresAt)
	row := runnerTokenRow{ID: t.ID, Prefix: t.Prefix, Hash: t.Hash, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	_, err := db.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(err, "create runner token", conflicts{"": fmt.Sprintf("a runner token with id %q already exists", t.ID)})
}

// RunnerToken returns the runner token with id.
func (db *DB) RunnerToken(ctx context.Context, id string) (*codepod.RunnerToken, error) {
	var row runnerTokenRow
	if err := db.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "get runner token", "runner token", id)
	}
	t := row.token()
	return &t, nil
}

// ListRunnerTokens returns a page of runner tokens, oldest first.
func (db *DB) ListRunnerTokens(ctx context.Context, p codepod.Page) ([]codepod.RunnerToken, string, error) {
	var rows []runnerTokenRow
	return listPage(ctx, db.idb.NewSelect().Model(&rows), &rows, "rt", p, "list runner tokens", (*runnerTokenRow).token)
}

// DeleteRunnerToken removes the runner token with id. Runners registered with
// it keep their own credentials.
func (db *DB) DeleteRunnerToken(ctx context.Context, id string) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.DeleteRunnerToken(ctx, id) })
	}
	res, err := db.idb.NewDelete().Model((*runnerTokenRow)(nil)).Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "delete runner token", "runner token", id)
}
