// Package store keeps CodePod's state in SQL through bun: SQLite (the
// default, one server) or PostgreSQL (several server replicas). It
// implements codepod.Store with the same behaviour on both, proven by one
// conformance suite run over both.
//
// Open applies the embedded migrations (package migrations) before it
// returns. IDs left empty on create are assigned here (see NewID); times are
// stored in UTC with microsecond precision, and the structs passed to Create
// methods are updated to what was stored.
package store

import (
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/writeprio"
)

var _ codepod.Store = (*DB)(nil)

// Dialect names, as returned by (*DB).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is a codepod.Store on one database. The DB returned by Open owns the
// connection pool; the one handed to an InTx callback runs on a transaction.
type DB struct {
	bun      *bun.DB // the pool, shared by every DB of one Open
	idb      bun.IDB // the pool, or the transaction of an InTx
	dialect  string
	logger   *slog.Logger
	sqlite   *writeLock      // serialises SQLite write transactions in this process; nil on PostgreSQL
	pgConfig *pgx.ConnConfig // PostgreSQL: what NewHub's listener connects with; nil on SQLite
	inTx     bool
	migrated []string
	stmts    *stmts        // SQLite: the hottest reads, prepared once (prepared.go)
	audits   *auditBatcher // group commit of FlushAudit (auditbatch.go)
}

// Dialect returns DialectSQLite or DialectPostgres.
func (db *DB) Dialect() string { return db.dialect }

// Migrated returns the names of the migrations this Open applied, oldest
// first; empty when the schema was already up to date.
func (db *DB) Migrated() []string { return append([]string(nil), db.migrated...) }

// Close closes the connection pool. On the store of an InTx callback it does
// nothing: the transaction ends when the callback returns.
func (db *DB) Close() error {
	if db.inTx {
		return nil
	}
	if db.stmts != nil {
		db.stmts.close()
	}
	return db.bun.Close()
}

// InTx runs fn in one transaction. Inside a transaction it runs fn on that
// same transaction (there are no nested savepoints).
//
// fn must use only the tx it is given: on SQLite the transaction is the
// database's one writer, so a write through the outer store waits for it
// (and fails after the 10 s busy timeout).
func (db *DB) InTx(ctx context.Context, fn func(tx codepod.Store) error) error {
	if db.inTx {
		return fn(db)
	}
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return fn(tx) })
}

// txAttempts is how often a transaction PostgreSQL aborted as a deadlock
// victim (or a serialization failure) is run again.
const txAttempts = 3

// runInTx runs fn on a transaction (or on the current one inside InTx). On
// SQLite the transaction begins as a writer (BEGIN IMMEDIATE), so reads made
// in it cannot be invalidated by another writer before fn writes. On
// PostgreSQL two transactions that lock the same rows in opposite orders (a
// claim locks jobs then their sandbox; a delete its sandbox then its jobs)
// can deadlock; the victim is rolled back and fn runs again, so fn must
// not keep effects outside the transaction between attempts.
func (db *DB) runInTx(ctx context.Context, fn func(ctx context.Context, tx *DB) error) error {
	if db.inTx {
		return fn(ctx, db)
	}
	return db.runInTxThen(ctx, fn, nil)
}

// runInTxThen is runInTx, and runs committed after the commit, while
// SQLite's writer is still held: what it marks done (an audit entry
// written) is seen so by the next writer.
func (db *DB) runInTxThen(ctx context.Context, fn func(ctx context.Context, tx *DB) error, committed func()) error {
	var err error
	for range txAttempts {
		if err = db.runInTxOnce(ctx, fn, committed); !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// retryable reports whether PostgreSQL aborted a transaction that may
// succeed when run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func (db *DB) runInTxOnce(ctx context.Context, fn func(ctx context.Context, tx *DB) error, committed func()) error {
	if db.sqlite != nil {
		if err := db.sqlite.lock(ctx, writeprio.IsUrgent(ctx)); err != nil {
			return err
		}
		defer db.sqlite.unlock()
	}
	// The request's pending audit entry (codepod.WithPendingAudit) goes into
	// the first transaction that commits under its context, after fn's
	// change; it counts as written only once that transaction committed.
	var audited *codepod.PendingAudit
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t := *db
		t.idb, t.inTx = tx, true
		if err := fn(ctx, &t); err != nil {
			return err
		}
		if p := codepod.PendingAuditOf(ctx); p != nil {
			e := p.Event()
			if err := t.appendAudit(ctx, &e); err != nil {
				return err
			}
			audited = p
		}
		return nil
	})
	if err == nil && audited != nil {
		audited.MarkWritten()
	}
	if err == nil && committed != nil {
		committed()
	}
	return err
}
