package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_events,alias:au"`

	Seq         int64     `bun:"seq,pk"`
	Time        time.Time `bun:"time"`
	ActorUserID string    `bun:"actor_user_id"`
	ActorKeyID  string    `bun:"actor_key_id"`
	WorkspaceID string    `bun:"workspace_id"`
	ClientAddr  string    `bun:"client_addr"`
	RequestID   string    `bun:"request_id"`
	Action      string    `bun:"action"`
	TargetType  string    `bun:"target_type"`
	TargetID    string    `bun:"target_id"`
	Outcome     string    `bun:"outcome"`
	Detail      string    `bun:"detail"`
	PrevHash    string    `bun:"prev_hash"`
	Hash        string    `bun:"hash"`
}

func (r *auditRow) event() codepod.AuditEvent {
	return codepod.AuditEvent{Seq: r.Seq, Time: r.Time.UTC(), ActorUserID: r.ActorUserID, ActorKeyID: r.ActorKeyID,
		WorkspaceID: r.WorkspaceID, ClientAddr: r.ClientAddr, RequestID: r.RequestID, Action: r.Action,
		TargetType: r.TargetType, TargetID: r.TargetID, Outcome: r.Outcome, Detail: r.Detail,
		PrevHash: r.PrevHash, Hash: r.Hash}
}

type auditHeadRow struct {
	bun.BaseModel `bun:"table:audit_head,alias:ah"`

	ID         int    `bun:"id,pk"`
	Seq        int64  `bun:"seq"`
	Hash       string `bun:"hash"`
	AnchorSeq  int64  `bun:"anchor_seq"`
	AnchorHash string `bun:"anchor_hash"`
}

// auditTx reports whether a write of db under ctx must run in a
// transaction of its own to carry the request's pending audit entry (see
// codepod.WithPendingAudit): it is not in one yet and an entry waits.
func (db *DB) auditTx(ctx context.Context) bool {
	return !db.inTx && codepod.PendingAuditOf(ctx) != nil
}

// lockAuditHead reads the chain's head, locking its row until the
// transaction ends on PostgreSQL (appends of every replica take turns, so
// the chain never forks); SQLite's single writer does the same.
func (db *DB) lockAuditHead(ctx context.Context) (*auditHeadRow, error) {
	var h auditHeadRow
	err := db.scanOne(ctx, "audit_head", func(func(int) any) *bun.SelectQuery {
		q := db.idb.NewSelect().Model(&h).Where("id = 1")
		if db.dialect == DialectPostgres && db.inTx {
			q = q.For("UPDATE")
		}
		return q
	})
	if err != nil {
		return nil, dbError(err, "read the audit chain's head", nil)
	}
	return &h, nil
}

// appendAudit appends e on db, which must be a transaction.
func (db *DB) appendAudit(ctx context.Context, e *codepod.AuditEvent) error {
	return db.appendAudits(ctx, []*codepod.AuditEvent{e})
}

// appendAudits appends es, in order, on db, which must be a transaction:
// one read and one move of the chain's head for all of them.
func (db *DB) appendAudits(ctx context.Context, es []*codepod.AuditEvent) error {
	if len(es) == 0 {
		return nil
	}
	h, err := db.lockAuditHead(ctx)
	if err != nil {
		return err
	}
	rows := make([]auditRow, len(es))
	seq, prev := h.Seq, h.Hash
	for i, e := range es {
		seq++
		e.Seq, e.PrevHash = seq, prev
		stamp(&e.Time, now())
		if e.Outcome == "" {
			e.Outcome = codepod.AuditOK
		}
		e.Hash = codepod.AuditHash(e.PrevHash, e)
		prev = e.Hash
		rows[i] = auditRow{Seq: e.Seq, Time: e.Time, ActorUserID: e.ActorUserID, ActorKeyID: e.ActorKeyID,
			WorkspaceID: e.WorkspaceID, ClientAddr: e.ClientAddr, RequestID: e.RequestID, Action: e.Action,
			TargetType: e.TargetType, TargetID: e.TargetID, Outcome: e.Outcome, Detail: e.Detail,
			PrevHash: e.PrevHash, Hash: e.Hash}
	}
	if db.dialect == DialectPostgres {
		ins := db.idb.NewInsert().Model(&rows)
		move := db.idb.NewUpdate().Model((*auditHeadRow)(nil)).Set("seq = ?", seq).Set("hash = ?", prev).Where("id = 1")
		// One statement: every replica's appends wait for the head's row
		// lock, held from lockAuditHead to the commit, so each round trip
		// saved here is saved once per append in the queue.
		_, err = move.With("audit_insert", ins).Exec(ctx)
		return dbError(err, "append audit entry", nil)
	}
	for i := range rows {
		if err := db.insertPrepared(ctx, "audit_insert", &rows[i]); err != nil {
			return dbError(err, "append audit entry", nil)
		}
	}
	err = db.execPrepared(ctx, "audit_head_move", func(arg func(int) any) execQuery {
		return db.idb.NewUpdate().Model((*auditHeadRow)(nil)).Set("seq = ?", arg(0)).Set("hash = ?", arg(1)).Where("id = 1")
	}, seq, prev)
	return dbError(err, "move the audit chain's head", nil)
}

// AppendAudit appends e in the current transaction, or in one of its own.
// A pending entry ctx carries is left for the change it records.
func (db *DB) AppendAudit(ctx context.Context, e *codepod.AuditEvent) error {
	ctx = codepod.WithPendingAudit(ctx, nil)
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.appendAudit(ctx, e) })
}

// ListAudit returns the entries f matches, by seq, and the seq after which
// the next page starts (0 on the last page).
func (db *DB) ListAudit(ctx context.Context, f codepod.AuditFilter) ([]codepod.AuditEvent, int64, error) {
	var rows []auditRow
	q := db.idb.NewSelect().Model(&rows).Where("au.seq > ?", f.AfterSeq)
	if !f.Since.IsZero() {
		q = q.Where("au.time >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("au.time < ?", dbTime(f.Until))
	}
	for col, v := range map[string]string{"actor_user_id": f.ActorUserID, "action": f.Action,
		"workspace_id": f.WorkspaceID, "target_type": f.TargetType, "target_id": f.TargetID} {
		if v != "" {
			q = q.Where("? = ?", bun.Ident("au."+col), v)
		}
	}
	n := pageLimit(f.Limit)
	if err := q.OrderExpr("au.seq ASC").Limit(int64(n + 1)).Scan(ctx); err != nil {
		return nil, 0, dbError(err, "list audit entries", nil)
	}
	next := int64(0)
	if len(rows) > n {
		rows = rows[:n]
		next = rows[n-1].Seq
	}
	return convert(rows, (*auditRow).event), next, nil
}

// AuditHead returns the chain's head and anchor.
func (db *DB) AuditHead(ctx context.Context) (codepod.AuditHead, error) {
	var h auditHeadRow
	if err := db.idb.NewSelect().Model(&h).Where("id = 1").Scan(ctx); err != nil {
		return codepod.AuditHead{}, dbError(err, "read the audit chain's head", nil)
	}
	return codepod.AuditHead{Seq: h.Seq, Hash: h.Hash, AnchorSeq: h.AnchorSeq, AnchorHash: h.AnchorHash}, nil
}

// PruneAudit deletes the oldest entries up to the last one older than
// before (a prefix of the chain, so what is left still chains), and makes
// the last one deleted the anchor verification starts from.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := db.runInTx(codepod.WithPendingAudit(ctx, nil), func(ctx context.Context, tx *DB) error {
		if _, err := tx.lockAuditHead(ctx); err != nil {
			return err
		}
		var last auditRow
		err := tx.idb.NewSelect().Model(&last).Where("au.time < ?", dbTime(before)).
			OrderExpr("au.seq DESC").Limit(1).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return dbError(err, "prune audit entries", nil)
		}
		res, err := tx.idb.NewDelete().Model((*auditRow)(nil)).Where("seq <= ?", last.Seq).Exec(ctx)
		if err != nil {
			return dbError(err, "prune audit entries", nil)
		}
		k, _ := res.RowsAffected()
		n = int(k)
		_, err = tx.idb.NewUpdate().Model((*auditHeadRow)(nil)).Set("anchor_seq = ?", last.Seq).
			Set("anchor_hash = ?", last.Hash).Where("id = 1").Exec(ctx)
		return dbError(err, "move the audit chain's anchor", nil)
	})
	return n, err
}
