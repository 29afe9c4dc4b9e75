package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type sandboxRow struct {
	bun.BaseModel `bun:"table:sandboxes,alias:s"`

	ID                 string              `bun:"id,pk"`
	Name               string              `bun:"name"`
	OwnerID            string              `bun:"owner_id"`
	WorkspaceID        string              `bun:"workspace_id"`
	RunnerID           string              `bun:"runner_id,nullzero"`
	Spec               codepod.SandboxSpec `bun:"spec"`
	MemoryBytes        int64               `bun:"memory_bytes"` // Spec.MemoryBytes, for RunnerUsage
	Status             string              `bun:"status"`
	Reason             string              `bun:"reason"`
	Version            int64               `bun:"version"`
	HostKeyFingerprint string              `bun:"host_key_fingerprint"`
	AgentVersion       string              `bun:"agent_version"`
	SSHSecret          []byte              `bun:"ssh_secret"`
	CreatedAt          time.Time           `bun:"created_at"`
	UpdatedAt          time.Time           `bun:"updated_at"`
	ExpiresAt          *time.Time          `bun:"expires_at"`
	IdleAt             *time.Time          `bun:"idle_at"`
}

func (r sandboxRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

func (r *sandboxRow) sandbox() codepod.Sandbox {
	return codepod.Sandbox{ID: r.ID, Name: r.Name, OwnerID: r.OwnerID, WorkspaceID: r.WorkspaceID, RunnerID: r.RunnerID,
		Spec: r.Spec, Status: codepod.SandboxStatus(r.Status), Reason: r.Reason, Version: r.Version,
		HostKeyFingerprint: r.HostKeyFingerprint, AgentVersion: r.AgentVersion, SSHSecret: r.SSHSecret,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ExpiresAt: dbTimePtr(r.ExpiresAt),
		IdleAt: dbTimePtr(r.IdleAt)}
}

func nameConflict(name string) conflicts {
	return conflicts{"sandboxes_workspace_id_name_key": fmt.Sprintf("a sandbox named %q already exists", name)}
}

// CreateSandbox inserts s, assigning its ID, CreatedAt and UpdatedAt when
// they are empty. An empty Status becomes pending, and a nil ExpiresAt is
// CreatedAt+Spec.TTL when the spec has a TTL. A sandbox of the same owner
// and name that is not deleted is an ECONFLICT.
func (db *DB) CreateSandbox(ctx context.Context, s *codepod.Sandbox) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateSandbox(ctx, s) })
	}
	setID(&s.ID, PrefixSandbox)
	codepod.SetAuditTarget(ctx, "sandbox", s.ID, s.OwnerID)
	t := now()
	stamp(&s.CreatedAt, t)
	stamp(&s.UpdatedAt, t)
	if s.Status == "" {
		s.Status = codepod.SandboxPending
	}
	if s.Version == 0 {
		s.Version = 1
	}
	if s.ExpiresAt == nil && s.Spec.TTL > 0 {
		exp := s.CreatedAt.Add(s.Spec.TTL)
		s.ExpiresAt = &exp
	}
	s.ExpiresAt = dbTimePtr(s.ExpiresAt)
	if s.IdleAt == nil && s.Spec.IdleTimeout > 0 {
		idle := s.CreatedAt.Add(s.Spec.IdleTimeout)
		s.IdleAt = &idle
	}
	s.IdleAt = dbTimePtr(s.IdleAt)
	if s.WorkspaceID == "" {
		s.WorkspaceID = codepod.PersonalWorkspaceID(s.OwnerID)
	}
	row := sandboxRow{ID: s.ID, Name: s.Name, OwnerID: s.OwnerID, WorkspaceID: s.WorkspaceID, RunnerID: s.RunnerID, Spec: s.Spec,
		MemoryBytes: s.Spec.MemoryBytes, Status: string(s.Status), Reason: s.Reason, Version: s.Version,
		HostKeyFingerprint: s.HostKeyFingerprint, AgentVersion: s.AgentVersion, SSHSecret: s.SSHSecret,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, ExpiresAt: s.ExpiresAt, IdleAt: s.IdleAt}
	_, err := db.idb.NewInsert().Model(&row).Exec(ctx)
	c := nameConflict(s.Name)
	c["sandboxes_pkey"] = fmt.Sprintf("a sandbox with id %q already exists", s.ID)
	return dbError(err, "create sandbox", c)
}

// Sandbox returns the sandbox with id, deleted or not.
func (db *DB) Sandbox(ctx context.Context, id string) (*codepod.Sandbox, error) {
	var row sandboxRow
	err := db.scanOne(ctx, "sandbox", func(arg func(int) any) *bun.SelectQuery {
		return db.idb.NewSelect().Model(&row).Where("id = ?", arg(0))
	}, id)
	if err != nil {
		return nil, notFound(err, "get sandbox", "sandbox", id)
	}
	s := row.sandbox()
	return &s, nil
}

// SandboxByName returns workspaceID's sandbox called name that is not deleted.
func (db *DB) SandboxByName(ctx context.Context, workspaceID, name string) (*codepod.Sandbox, error) {
	var row sandboxRow
	err := db.scanOne(ctx, "sandbox_by_name", func(arg func(int) any) *bun.SelectQuery {
		return db.idb.NewSelect().Model(&row).
			Where("workspace_id = ?", arg(0)).Where("name = ?", arg(1)).
			Where("status <> ?", codepod.SandboxDeleted) // a constant: the partial index's condition, which SQLite must see to use it
	}, workspaceID, name)
	if err != nil {
		return nil, notFound(err, "get sandbox by name", "sandbox", name)
	}
	s := row.sandbox()
	return &s, nil
}

// UpdateSandbox applies u to sandbox id if its version is still version,
// increments the version, and enqueues jobs, all in one transaction; see
// codepod.Store. The condition is in the UPDATE itself (WHERE id = ? AND
// version = ?), which is what makes it safe at PostgreSQL's READ COMMITTED
// as well as under SQLite's single writer.
func (db *DB) UpdateSandbox(ctx context.Context, id string, version int64, u codepod.SandboxUpdate, jobs ...*codepod.Job) (*codepod.Sandbox, error) {
	var sb *codepod.Sandbox
	codepod.SetAuditTarget(ctx, "sandbox", id, "")
	err := db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		var err error
		if sb, err = tx.updateSandbox(ctx, id, version, u); err != nil {
			return err
		}
		if u.CancelJobs != nil {
			if err := tx.CancelJobs(ctx, id, *u.CancelJobs); err != nil {
				return err
			}
		}
		for _, j := range jobs {
			j.SandboxID = id
			if err := tx.EnqueueJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	return sb, err
}

func (db *DB) updateSandbox(ctx context.Context, id string, version int64, u codepod.SandboxUpdate) (*codepod.Sandbox, error) {
	at := now()
	if !u.At.IsZero() {
		at = dbTime(u.At)
	}
	var row sandboxRow
	q := db.idb.NewUpdate().Model(&row).Set("updated_at = ?", at).Set("version = version + 1").
		Where("id = ?", id).Where("version = ?", version)
	if u.Status != nil {
		q = q.Set("status = ?", string(*u.Status))
	}
	if u.Reason != nil {
		q = q.Set("reason = ?", codepod.TruncateUTF8(*u.Reason, codepod.MaxReasonBytes))
	}
	if u.RunnerID != nil {
		q = q.Set("runner_id = ?", nullIfEmpty(*u.RunnerID))
	}
	if u.HostKeyFingerprint != nil {
		q = q.Set("host_key_fingerprint = ?", *u.HostKeyFingerprint)
	}
	if u.ExpiresAt != nil {
		q = q.Set("expires_at = ?", dbTimePtr(*u.ExpiresAt))
	}
	if u.IdleAt != nil {
		q = q.Set("idle_at = ?", dbTimePtr(*u.IdleAt))
	}
	if u.Spec != nil {
		raw, err := json.Marshal(u.Spec)
		if err != nil {
			return nil, fmt.Errorf("encode spec: %w", err)
		}
		q = q.Set("spec = ?", string(raw))
	}
	err := q.Returning("*").Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := db.Sandbox(ctx, id); err != nil {
			return nil, err
		}
		return nil, codepod.ErrVersionConflict
	case err != nil:
		if _, ok := constraintViolation(err); ok {
			return nil, dbError(err, "update sandbox", conflicts{
				"sandboxes_workspace_id_name_key": "another sandbox of this owner already has this name"})
		}
		return nil, dbError(err, "update sandbox", nil)
	}
	s := row.sandbox()
	return &s, nil
}

// nullIfEmpty is nil (SQL NULL) for "", else s.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ExpiredSandboxes returns up to limit sandboxes (default 50, at most 500)
// whose ExpiresAt is before now and that are not deleting or deleted,
// soonest expired first.
func (db *DB) ExpiredSandboxes(ctx context.Context, now time.Time, limit int) ([]codepod.Sandbox, error) {
	var rows []sandboxRow
	err := db.idb.NewSelect().Model(&rows).
		Where("expires_at IS NOT NULL").Where("expires_at < ?", dbTime(now)).
		Where("status NOT IN (?)", bun.In([]string{string(codepod.SandboxDeleting), string(codepod.SandboxDeleted)})).
		Order("expires_at", "id").Limit(int64(pageLimit(limit))).Scan(ctx)
	if err != nil {
		return nil, dbError(err, "list expired sandboxes", nil)
	}
	return convert(rows, (*sandboxRow).sandbox), nil
}

// CountSandboxesByStatus returns how many sandboxes are in each status
// (statuses without sandboxes are absent).
func (db *DB) CountSandboxesByStatus(ctx context.Context) (map[codepod.SandboxStatus]int, error) {
	counts, err := countByStatus(ctx, db.idb.NewSelect().Model((*sandboxRow)(nil)))
	if err != nil {
		return nil, dbError(err, "count sandboxes", nil)
	}
	out := make(map[codepod.SandboxStatus]int, len(counts))
	for s, n := range counts {
		out[codepod.SandboxStatus(s)] = n
	}
	return out, nil
}

// countByStatus groups q's table by its status column.
func countByStatus(ctx context.Context, q *bun.SelectQuery) (map[string]int, error) {
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	if err := q.ColumnExpr("status, COUNT(*) AS n").Group("status").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
