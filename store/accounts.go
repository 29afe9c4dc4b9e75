package store

import (
	"context"
	"encoding/json"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

// UpdateUser changes the fields of u that are set and returns the user.
func (db *DB) UpdateUser(ctx context.Context, id string, u codepod.UserUpdate) (*codepod.User, error) {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		var out *codepod.User
		err := db.runInTx(ctx, func(ctx context.Context, tx *DB) (err error) { out, err = tx.UpdateUser(ctx, id, u); return err })
		return out, err
	}
	q := db.idb.NewUpdate().Model((*userRow)(nil)).Where("id = ?", id)
	set := false
	if u.DisabledAt != nil {
		q, set = q.Set("disabled_at = ?", dbTimePtr(*u.DisabledAt)), true
	}
	if u.Deleting != nil {
		q, set = q.Set("deleting = ?", *u.Deleting), true
	}
	if u.Quota != nil {
		q, set = q.Set("quota = ?", quotaJSON(*u.Quota)), true
	}
	if u.PasswordHash != nil {
		q, set = q.Set("password_hash = ?", *u.PasswordHash), true
	}
	if set {
		res, err := q.Exec(ctx)
		if err := mustAffect(res, err, "update user", "user", id); err != nil {
			return nil, err
		}
	}
	return db.User(ctx, id)
}

// quotaJSON is a quota override as the column holds it.
func quotaJSON(o codepod.QuotaOverride) string {
	b, _ := json.Marshal(o)
	return string(b)
}

// DeleteUser removes user id, their deleted sandboxes (whose jobs cascade)
// and, through the schema's cascades, their API and SSH keys. A sandbox of
// theirs that is not deleted makes it an ECONFLICT.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		live, err := tx.idb.NewSelect().Model((*sandboxRow)(nil)).
			Where("owner_id = ?", id).Where("status <> ?", codepod.SandboxDeleted).Count(ctx)
		if err != nil {
			return dbError(err, "count sandboxes of user", nil)
		}
		if live > 0 {
			return codepod.Errorf(codepod.ECONFLICT, "user %s still has %d sandboxes; delete them first (or delete the user with force)", id, live)
		}
		if _, err := tx.idb.NewDelete().Model((*sandboxRow)(nil)).Where("owner_id = ?", id).Exec(ctx); err != nil {
			return dbError(err, "delete sandboxes of user", nil)
		}
		if err := tx.deletePersonalWorkspace(ctx, id); err != nil {
			return err
		}
		res, err := tx.idb.NewDelete().Model((*userRow)(nil)).Where("id = ?", id).Exec(ctx)
		return mustAffect(res, err, "delete user", "user", id)
	})
}

// DeletingUsers returns up to limit users marked Deleting, oldest first.
func (db *DB) DeletingUsers(ctx context.Context, limit int) ([]codepod.User, error) {
	var rows []userRow
	err := db.idb.NewSelect().Model(&rows).Where("deleting").OrderExpr("u.created_at, u.id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, dbError(err, "list deleting users", nil)
	}
	out := make([]codepod.User, len(rows))
	for i := range rows {
		out[i] = rows[i].user()
	}
	return out, nil
}

// QuotaUsage sums the sandboxes of workspaceID that count against a quota.
// On PostgreSQL it first locks the workspace's row, which serialises the
// check and insert of concurrent creates in one workspace when both run in
// a transaction.
func (db *DB) QuotaUsage(ctx context.Context, workspaceID string) (codepod.QuotaUsage, error) {
	var u codepod.QuotaUsage
	if db.dialect == DialectPostgres && db.inTx {
		var id string
		err := db.idb.NewSelect().Model((*workspaceRow)(nil)).Column("id").Where("id = ?", workspaceID).For("UPDATE").Scan(ctx, &id)
		if err != nil {
			return u, notFound(err, "lock workspace", "workspace", workspaceID)
		}
	}
	var rows []sandboxRow
	err := db.idb.NewSelect().Model(&rows).Column("spec", "memory_bytes").
		Where("workspace_id = ?", workspaceID).Where("status NOT IN (?)", bun.In(uncounted())).Scan(ctx)
	if err != nil {
		return u, dbError(err, "sum quota usage", nil)
	}
	for _, r := range rows {
		u.Sandboxes++
		u.CPU += r.Spec.CPU
		u.MemoryBytes += r.MemoryBytes
	}
	return u, nil
}

// uncounted are the statuses whose sandboxes hold nothing.
func uncounted() []string {
	var out []string
	for _, s := range codepod.SandboxStatuses {
		if !codepod.CountsAgainstQuota(s) {
			out = append(out, string(s))
		}
	}
	return out
}
