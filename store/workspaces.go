package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

// PrefixWorkspace starts the id of a workspace that is not personal
// (personal ones are codepod.PersonalWorkspaceID).
const PrefixWorkspace = "ws_"

type workspaceRow struct {
	bun.BaseModel `bun:"table:workspaces,alias:w"`

	ID        string    `bun:"id,pk"`
	Name      string    `bun:"name"`
	Personal  bool      `bun:"personal"`
	OwnerID   string    `bun:"owner_id,nullzero"`
	CreatedAt time.Time `bun:"created_at"`
	Role      string    `bun:"role,scanonly"`
}

func (r *workspaceRow) workspace() codepod.Workspace {
	return codepod.Workspace{ID: r.ID, Name: r.Name, Personal: r.Personal, OwnerID: r.OwnerID,
		CreatedAt: r.CreatedAt.UTC(), Role: codepod.Role(r.Role)}
}

type memberRow struct {
	bun.BaseModel `bun:"table:workspace_members,alias:m"`

	WorkspaceID string    `bun:"workspace_id,pk"`
	UserID      string    `bun:"user_id,pk"`
	Role        string    `bun:"role"`
	CreatedAt   time.Time `bun:"created_at"`
	Email       string    `bun:"email,scanonly"`
	Name        string    `bun:"name,scanonly"`
}

func (r *memberRow) member() codepod.WorkspaceMember {
	return codepod.WorkspaceMember{WorkspaceID: r.WorkspaceID, UserID: r.UserID, Role: codepod.Role(r.Role),
		CreatedAt: r.CreatedAt.UTC(), Email: r.Email, Name: r.Name}
}

// CreateWorkspace inserts w and its owner's membership.
func (db *DB) CreateWorkspace(ctx context.Context, w *codepod.Workspace) error {
	setID(&w.ID, PrefixWorkspace)
	stamp(&w.CreatedAt, now())
	w.CreatedAt = dbTime(w.CreatedAt)
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		row := workspaceRow{ID: w.ID, Name: w.Name, Personal: w.Personal, OwnerID: w.OwnerID, CreatedAt: w.CreatedAt}
		_, err := tx.idb.NewInsert().Model(&row).Exec(ctx)
		if err := dbError(err, "create workspace", conflicts{
			"workspaces_name_key": fmt.Sprintf("a workspace named %q already exists; pick another name", w.Name),
			"workspaces_pkey":     fmt.Sprintf("a workspace with id %q already exists", w.ID),
		}); err != nil {
			return err
		}
		if w.OwnerID == "" {
			return nil
		}
		w.Role = codepod.RoleOwner
		return tx.SetWorkspaceMember(ctx, &codepod.WorkspaceMember{WorkspaceID: w.ID, UserID: w.OwnerID,
			Role: codepod.RoleOwner, CreatedAt: w.CreatedAt})
	})
}

// Workspace returns the workspace whose id or name is ref.
func (db *DB) Workspace(ctx context.Context, ref string) (*codepod.Workspace, error) {
	var row workspaceRow
	err := db.idb.NewSelect().Model(&row).
		Where("w.id = ? OR w.name = ?", ref, ref).OrderExpr("w.id = ? DESC", ref).Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "get workspace", "workspace", ref)
	}
	w := row.workspace()
	return &w, nil
}

// ListWorkspaces returns userID's workspaces with their role (all when "").
func (db *DB) ListWorkspaces(ctx context.Context, userID string) ([]codepod.Workspace, error) {
	var rows []workspaceRow
	q := db.idb.NewSelect().Model(&rows)
	if userID != "" {
		q = q.Join("JOIN workspace_members AS m ON m.workspace_id = w.id").
			Where("m.user_id = ?", userID).ColumnExpr("w.*").ColumnExpr("m.role AS role")
	}
	if err := q.OrderExpr("w.created_at, w.id").Limit(1000).Scan(ctx); err != nil {
		return nil, dbError(err, "list workspaces", nil)
	}
	return convert(rows, (*workspaceRow).workspace), nil
}

// DeleteWorkspace removes workspace id and everything that is only its.
func (db *DB) DeleteWorkspace(ctx context.Context, id string) error {
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		live, err := tx.idb.NewSelect().Model((*sandboxRow)(nil)).
			Where("workspace_id = ?", id).Where("status <> ?", codepod.SandboxDeleted).Count(ctx)
		if err != nil {
			return dbError(err, "count sandboxes of workspace", nil)
		}
		if live > 0 {
			return codepod.Errorf(codepod.ECONFLICT, "workspace %s still has %d sandboxes; delete them first", id, live)
		}
		return tx.dropWorkspace(ctx, id)
	})
}

// dropWorkspace deletes workspace id's rows (callers checked it has no
// live sandbox).
func (db *DB) dropWorkspace(ctx context.Context, id string) error {
	if _, err := db.idb.NewDelete().Model((*sandboxRow)(nil)).Where("workspace_id = ?", id).Exec(ctx); err != nil {
		return dbError(err, "delete sandboxes of workspace", nil)
	}
	if _, err := db.idb.NewDelete().Model((*apiKeyRow)(nil)).Where("workspace_id = ?", id).Exec(ctx); err != nil {
		return dbError(err, "delete keys of workspace", nil)
	}
	var eps []string
	if err := db.idb.NewSelect().Model((*webhookRow)(nil)).Column("id").Where("workspace_id = ?", id).Scan(ctx, &eps); err != nil {
		return dbError(err, "list webhooks of workspace", nil)
	}
	for _, ep := range eps {
		if err := db.DeleteWebhook(ctx, "", ep); err != nil {
			return err
		}
	}
	if _, err := db.idb.NewDelete().Model((*memberRow)(nil)).Where("workspace_id = ?", id).Exec(ctx); err != nil {
		return dbError(err, "delete members of workspace", nil)
	}
	res, err := db.idb.NewDelete().Model((*workspaceRow)(nil)).Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "delete workspace", "workspace", id)
}

// deletePersonalWorkspace drops userID's personal workspace, if any.
func (db *DB) deletePersonalWorkspace(ctx context.Context, userID string) error {
	err := db.dropWorkspace(ctx, codepod.PersonalWorkspaceID(userID))
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	return err
}

// WorkspaceMember returns userID's membership of workspaceID.
func (db *DB) WorkspaceMember(ctx context.Context, workspaceID, userID string) (*codepod.WorkspaceMember, error) {
	var row memberRow
	err := db.idb.NewSelect().Model(&row).
		Where("m.workspace_id = ?", workspaceID).Where("m.user_id = ?", userID).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "get workspace member", "member", userID)
	}
	m := row.member()
	return &m, nil
}

// ListWorkspaceMembers returns workspaceID's members, oldest first.
func (db *DB) ListWorkspaceMembers(ctx context.Context, workspaceID string) ([]codepod.WorkspaceMember, error) {
	var rows []memberRow
	err := db.idb.NewSelect().Model(&rows).
		ColumnExpr("m.*").ColumnExpr("u.email AS email, u.name AS name").
		Join("JOIN users AS u ON u.id = m.user_id").
		Where("m.workspace_id = ?", workspaceID).OrderExpr("m.created_at, m.user_id").Limit(1000).Scan(ctx)
	if err != nil {
		return nil, dbError(err, "list workspace members", nil)
	}
	return convert(rows, (*memberRow).member), nil
}

// SetWorkspaceMember adds m or changes its role.
func (db *DB) SetWorkspaceMember(ctx context.Context, m *codepod.WorkspaceMember) error {
	stamp(&m.CreatedAt, now())
	m.CreatedAt = dbTime(m.CreatedAt)
	row := memberRow{WorkspaceID: m.WorkspaceID, UserID: m.UserID, Role: string(m.Role), CreatedAt: m.CreatedAt}
	_, err := db.idb.NewInsert().Model(&row).
		On("CONFLICT (workspace_id, user_id) DO UPDATE").Set("role = EXCLUDED.role").Exec(ctx)
	return dbError(err, "set workspace member", nil)
}

// RemoveWorkspaceMember deletes userID's membership of workspaceID.
func (db *DB) RemoveWorkspaceMember(ctx context.Context, workspaceID, userID string) error {
	res, err := db.idb.NewDelete().Model((*memberRow)(nil)).
		Where("workspace_id = ?", workspaceID).Where("user_id = ?", userID).Exec(ctx)
	return mustAffect(res, err, "remove workspace member", "member", userID)
}
