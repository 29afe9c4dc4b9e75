package store

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

// ListSandboxes returns a page of the sandboxes f selects, oldest first.
// Deleted sandboxes are left out unless f.IncludeDeleted is set or f.Status
// names the deleted status.
func (db *DB) ListSandboxes(ctx context.Context, f codepod.SandboxFilter) ([]codepod.Sandbox, string, error) {
	var rows []sandboxRow
	q := db.idb.NewSelect().Model(&rows)
	if f.WorkspaceID != "" {
		q = q.Where("s.workspace_id = ?", f.WorkspaceID)
	}
	if f.OwnerID != "" {
		q = q.Where("s.owner_id = ?", f.OwnerID)
	}
	if f.RunnerID != "" && !f.Unplaced {
		q = q.Where("s.runner_id = ?", f.RunnerID)
	}
	switch {
	case f.Unplaced:
		// Matches the partial index sandboxes_unplaced_idx.
		q = q.Where("s.status = ?", codepod.SandboxPending).Where("s.runner_id IS NULL")
	case len(f.Status) > 0:
		q = q.Where("s.status IN (?)", bun.In(f.Status))
	case !f.IncludeDeleted:
		q = q.Where("s.status <> ?", codepod.SandboxDeleted)
	}
	q = db.whereLabels(q, f.Labels)
	return listPage(ctx, q, &rows, "s", f.Page, "list sandboxes", (*sandboxRow).sandbox)
}

// whereLabels keeps the sandboxes whose spec carries every label of want.
func (db *DB) whereLabels(q *bun.SelectQuery, want map[string]string) *bun.SelectQuery {
	if len(want) == 0 {
		return q
	}
	if db.dialect == DialectPostgres {
		doc, _ := json.Marshal(map[string]any{"labels": want}) // a string map always encodes
		return q.Where("s.spec @> CAST(? AS jsonb)", string(doc))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q = q.Where("EXISTS (SELECT 1 FROM json_each(s.spec, '$.labels') AS l WHERE l.key = ? AND l.value = ?)", k, want[k])
	}
	return q
}
