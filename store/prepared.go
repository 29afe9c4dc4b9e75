package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/uptrace/bun"
)

// stmts holds the SQLite statements of the hottest reads, prepared once per
// pool. bun writes every argument into a query's text, so each query is
// new to SQLite and parsed and planned again: for the reads every
// authenticated request makes (its API key and user, the sandbox it names)
// the parse was most of the query's time (docs/benchmarks.md, issue 13).
// PostgreSQL parses in C and keeps bun's way (a named statement per
// connection would also break transaction-pooling proxies).
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}

// scanOne runs the select build makes and scans its one row into the
// select's model; no row is sql.ErrNoRows. build gets arg, which stands for
// args[i] in the query: on SQLite a placeholder of a statement prepared once
// under name (the query's text must depend on nothing but name), on
// PostgreSQL the value itself. A value the planner must see (one that
// decides whether a partial index applies) stays a constant in the text:
// SQLite would otherwise prepare the statement again at every bind.
func (db *DB) scanOne(ctx context.Context, name string, build func(arg func(i int) any) *bun.SelectQuery, args ...any) error {
	if db.dialect != DialectSQLite {
		return build(func(i int) any { return args[i] }).Scan(ctx) // a struct's model: no row is sql.ErrNoRows
	}
	n, err := db.scanPrepared(ctx, name, build, args)
	if err == nil && n == 0 {
		return sql.ErrNoRows
	}
	return err
}

// scanAll is scanOne for a slice's model: no row is no error.
func (db *DB) scanAll(ctx context.Context, name string, build func(arg func(i int) any) *bun.SelectQuery, args ...any) error {
	if db.dialect != DialectSQLite {
		return build(func(i int) any { return args[i] }).Scan(ctx)
	}
	_, err := db.scanPrepared(ctx, name, build, args)
	return err
}

// scanPrepared runs build's select as SQLite statement name and returns
// how many rows it scanned.
func (db *DB) scanPrepared(ctx context.Context, name string, build func(arg func(i int) any) *bun.SelectQuery, args []any) (int, error) {
	q := build(func(int) any { return bun.Safe("?") })
	stmt, err := db.prepared(ctx, name, q)
	if err != nil {
		return 0, err
	}
	if tx, ok := db.idb.(bun.Tx); ok {
		stmt = tx.StmtContext(ctx, stmt)
		defer stmt.Close()
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n, err := q.GetModel().ScanRows(ctx, rows)
	if err != nil {
		return 0, err
	}
	return n, rows.Err()
}

// execPrepared runs the statement build makes, as scanOne runs a select.
func (db *DB) execPrepared(ctx context.Context, name string, build func(arg func(i int) any) execQuery, args ...any) error {
	if db.dialect != DialectSQLite {
		_, err := build(func(i int) any { return args[i] }).Exec(ctx)
		return err
	}
	stmt, err := db.prepared(ctx, name, build(func(int) any { return bun.Safe("?") }))
	if err != nil {
		return err
	}
	if tx, ok := db.idb.(bun.Tx); ok {
		stmt = tx.StmtContext(ctx, stmt)
		defer stmt.Close()
	}
	_, err = stmt.ExecContext(ctx, args...)
	return err
}

// execQuery is an insert, update or delete.
type execQuery interface {
	String() string
	Exec(ctx context.Context, dest ...any) (sql.Result, error)
}

// prepared returns the pool's statement called name, preparing q's text
// on first use.
func (db *DB) prepared(ctx context.Context, name string, q interface{ String() string }) (*sql.Stmt, error) {
	c := db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[name]; ok {
		return s, nil
	}
	s, err := db.bun.DB.PrepareContext(ctx, q.String())
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[name] = s
	return s, nil
}
