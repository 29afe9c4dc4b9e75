package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type runnerRow struct {
	bun.BaseModel `bun:"table:runners,alias:r"`

	ID                string            `bun:"id,pk"`
	Name              string            `bun:"name"`
	Labels            map[string]string `bun:"labels"`
	CapacitySandboxes int               `bun:"capacity_sandboxes"`
	CapacityMemory    int64             `bun:"capacity_memory"`
	Runtimes          []string          `bun:"runtimes"`
	Workspaces        []string          `bun:"workspaces"`
	Version           string            `bun:"version"`
	SecretHash        []byte            `bun:"secret_hash"`
	Status            string            `bun:"status"`
	LastSeenAt        time.Time         `bun:"last_seen_at"`
	CreatedAt         time.Time         `bun:"created_at"`
}

func (r runnerRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

func newRunnerRow(r *codepod.Runner) runnerRow {
	return runnerRow{ID: r.ID, Name: r.Name, Labels: nonNil(r.Labels),
		CapacitySandboxes: r.Capacity.Sandboxes, CapacityMemory: r.Capacity.MemoryBytes,
		Runtimes: r.Runtimes, Workspaces: nonNilList(r.Workspaces), Version: r.Version, SecretHash: r.SecretHash, Status: string(r.Status),
		LastSeenAt: r.LastSeenAt, CreatedAt: r.CreatedAt}
}

func (r *runnerRow) runner() codepod.Runner {
	return codepod.Runner{ID: r.ID, Name: r.Name, Labels: nilIfEmpty(r.Labels),
		Capacity: codepod.Capacity{Sandboxes: r.CapacitySandboxes, MemoryBytes: r.CapacityMemory},
		Runtimes: r.Runtimes, Workspaces: nilIfNone(r.Workspaces),
		Version: r.Version, SecretHash: r.SecretHash, Status: codepod.RunnerStatus(r.Status),
		LastSeenAt: r.LastSeenAt.UTC(), CreatedAt: r.CreatedAt.UTC()}
}

// CreateRunner inserts r, assigning its ID, CreatedAt and LastSeenAt when
// they are empty; an empty Status becomes online.
func (db *DB) CreateRunner(ctx context.Context, r *codepod.Runner) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateRunner(ctx, r) })
	}
	setID(&r.ID, PrefixRunner)
	codepod.SetAuditTarget(ctx, "runner", r.ID, "")
	t := now()
	stamp(&r.CreatedAt, t)
	stamp(&r.LastSeenAt, t)
	if r.Status == "" {
		r.Status = codepod.RunnerOnline
	}
	r.Runtimes = runtimesOrRunc(r.Runtimes)
	row := newRunnerRow(r)
	_, err := db.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(err, "create runner", conflicts{"": fmt.Sprintf("a runner with id %q already exists", r.ID)})
}

// Runner returns the runner with id.
func (db *DB) Runner(ctx context.Context, id string) (*codepod.Runner, error) {
	var row runnerRow
	if err := db.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "get runner", "runner", id)
	}
	r := row.runner()
	return &r, nil
}

// ListRunners returns a page of runners, oldest first.
func (db *DB) ListRunners(ctx context.Context, p codepod.Page) ([]codepod.Runner, string, error) {
	var rows []runnerRow
	return listPage(ctx, db.idb.NewSelect().Model(&rows), &rows, "r", p, "list runners", (*runnerRow).runner)
}

// TouchRunner moves last_seen_at of runner id forward to at; it never
// moves it back and writes no other column, so it cannot undo a heartbeat.
func (db *DB) TouchRunner(ctx context.Context, id string, at time.Time) error {
	at = dbTime(at)
	res, err := db.idb.NewUpdate().Model((*runnerRow)(nil)).
		Set("last_seen_at = CASE WHEN last_seen_at < ? THEN ? ELSE last_seen_at END", at, at).
		Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "touch runner", "runner", id)
}

// runtimesOrRunc is what a runner that reports no runtimes has.
func runtimesOrRunc(rts []string) []string {
	if len(rts) == 0 {
		return []string{codepod.RuntimeRunc}
	}
	return rts
}

// HeartbeatRunner marks runner id online and seen at at (never moving
// last_seen_at back), sets its capacity when capacity is not nil and its
// runtimes when runtimes is not empty.
// It returns the runner as it is now.
func (db *DB) HeartbeatRunner(ctx context.Context, id string, at time.Time, capacity *codepod.Capacity, runtimes []string) (*codepod.Runner, error) {
	at = dbTime(at)
	var row runnerRow
	q := db.idb.NewUpdate().Model(&row).Set("status = ?", codepod.RunnerOnline).
		Set("last_seen_at = CASE WHEN last_seen_at < ? THEN ? ELSE last_seen_at END", at, at).
		Where("id = ?", id)
	if capacity != nil {
		q = q.Set("capacity_sandboxes = ?", capacity.Sandboxes).Set("capacity_memory = ?", capacity.MemoryBytes)
	}
	if len(runtimes) > 0 {
		b, err := json.Marshal(runtimes)
		if err != nil {
			return nil, fmt.Errorf("heartbeat runner: %w", err)
		}
		q = q.Set("runtimes = ?", string(b))
	}
	if err := q.Returning("*").Scan(ctx); err != nil {
		return nil, notFound(err, "heartbeat runner", "runner", id)
	}
	r := row.runner()
	return &r, nil
}

// SetRunnerVersion records the version runner id reports; it writes only
// when the version changed (a conditional update, so concurrent polls agree).
func (db *DB) SetRunnerVersion(ctx context.Context, id, version string) error {
	_, err := db.idb.NewUpdate().Model((*runnerRow)(nil)).Set("version = ?", version).
		Where("id = ?", id).Where("version <> ?", version).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set runner version: %w", err)
	}
	return nil
}

// MarkRunnerOnline sets runner id online when it is not; see codepod.Store.
func (db *DB) MarkRunnerOnline(ctx context.Context, id string, at time.Time) (bool, error) {
	at = dbTime(at)
	res, err := db.idb.NewUpdate().Model((*runnerRow)(nil)).Set("status = ?", codepod.RunnerOnline).
		Set("last_seen_at = CASE WHEN last_seen_at < ? THEN ? ELSE last_seen_at END", at, at).
		Where("id = ?", id).Where("status <> ?", codepod.RunnerOnline).Exec(ctx)
	if err != nil {
		return false, dbError(err, "mark runner online", nil)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError(err, "mark runner online", nil)
	}
	return n > 0, nil
}

// SetSandboxAgentVersion records the version of sandbox id's agent; it
// writes only when the version changed (conditional, like SetRunnerVersion).
func (db *DB) SetSandboxAgentVersion(ctx context.Context, id, version string) error {
	_, err := db.idb.NewUpdate().Model((*sandboxRow)(nil)).Set("agent_version = ?", version).
		Where("id = ?", id).Where("agent_version <> ?", version).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set sandbox agent version: %w", err)
	}
	return nil
}

// LockRunner returns runner id; inside a transaction on PostgreSQL its row
// stays locked (FOR UPDATE) until the transaction ends. On SQLite the
// transaction is the single writer already.
func (db *DB) LockRunner(ctx context.Context, id string) (*codepod.Runner, error) {
	var row runnerRow
	q := db.idb.NewSelect().Model(&row).Where("id = ?", id)
	if db.dialect == DialectPostgres && db.inTx {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "lock runner", "runner", id)
	}
	r := row.runner()
	return &r, nil
}

// DeleteRunner removes the runner with id and its jobs; its sandboxes are
// left unplaced (runner id "").
func (db *DB) DeleteRunner(ctx context.Context, id string) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.DeleteRunner(ctx, id) })
	}
	res, err := db.idb.NewDelete().Model((*runnerRow)(nil)).Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "delete runner", "runner", id)
}

// MarkStaleRunners sets online runners last seen before before to offline
// and returns their ids, sorted.
func (db *DB) MarkStaleRunners(ctx context.Context, before time.Time) ([]string, error) {
	var ids []string
	_, err := db.idb.NewUpdate().Model((*runnerRow)(nil)).
		Set("status = ?", codepod.RunnerOffline).
		Where("status <> ?", codepod.RunnerOffline).
		Where("last_seen_at < ?", dbTime(before)).
		Returning("id").Exec(ctx, &ids)
	if err != nil {
		return nil, dbError(err, "mark stale runners", nil)
	}
	sort.Strings(ids)
	return ids, nil
}

// RunnerUsage returns, per runner id, how many sandboxes that may hold a
// container (not deleted, error or lost) are placed on it and the sum of
// their memory limits. With ids it counts only those runners.
func (db *DB) RunnerUsage(ctx context.Context, ids ...string) (map[string]codepod.Usage, error) {
	var rows []struct {
		RunnerID string `bun:"runner_id"`
		N        int    `bun:"n"`
		Memory   int64  `bun:"memory"`
	}
	q := db.idb.NewSelect().Model((*sandboxRow)(nil))
	if len(ids) > 0 {
		q = q.Where("runner_id IN (?)", bun.In(ids))
	}
	err := q.ColumnExpr("runner_id, COUNT(*) AS n, COALESCE(SUM(memory_bytes), 0) AS memory").
		Where("runner_id IS NOT NULL").
		// Deleted, failed and lost sandboxes hold no container: a create
		// that failed removed what it made, and one whose container turns
		// out to run is revived by reconcile and counts again.
		Where("status NOT IN (?)", bun.In([]codepod.SandboxStatus{codepod.SandboxDeleted, codepod.SandboxError, codepod.SandboxLost})).
		Group("runner_id").Scan(ctx, &rows)
	if err != nil {
		return nil, dbError(err, "runner usage", nil)
	}
	usage := make(map[string]codepod.Usage, len(rows))
	for _, r := range rows {
		usage[r.RunnerID] = codepod.Usage{Sandboxes: r.N, MemoryBytes: r.Memory}
	}
	return usage, nil
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func nilIfNone(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// SetRunnerWorkspaces sets the workspaces runner id may host sandboxes of
// (none: every workspace).
func (db *DB) SetRunnerWorkspaces(ctx context.Context, id string, workspaces []string) error {
	b, _ := json.Marshal(nonNilList(workspaces))
	res, err := db.idb.NewUpdate().Model((*runnerRow)(nil)).Set("workspaces = ?", string(b)).Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "set runner workspaces", "runner", id)
}
