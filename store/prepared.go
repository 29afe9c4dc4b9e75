package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

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
	stmt, done := db.here(ctx, stmt)
	defer done()
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
	return db.execStmt(ctx, stmt, args)
}

// insertPrepared inserts row, a pointer to a model of strings, integers
// and times only, as SQLite statement name, or through bun's insert on
// PostgreSQL. Each value is bound as what bun would have written into the
// text: a time in bun's format (so times compare as before), a string as
// it is; a string bun refuses (a NUL byte) goes through bun for its error.
func (db *DB) insertPrepared(ctx context.Context, name string, row any) error {
	if db.dialect != DialectSQLite {
		_, err := db.idb.NewInsert().Model(row).Exec(ctx)
		return err
	}
	v := reflect.ValueOf(row).Elem()
	fields := db.bun.Table(v.Type()).Fields
	args := make([]any, 0, len(fields))
	for _, f := range fields {
		switch x := f.Value(v).Interface().(type) {
		case string:
			if strings.IndexByte(x, 0) >= 0 {
				_, err := db.idb.NewInsert().Model(row).Exec(ctx)
				return err
			}
			args = append(args, x)
		case int64:
			args = append(args, x)
		case time.Time:
			args = append(args, x.UTC().Format(bunTimeFormat))
		default:
			return fmt.Errorf("insert %s: field %s is a %T, which insertPrepared does not bind", name, f.Name, x)
		}
	}
	stmt, err := db.preparedText(ctx, name, func() string {
		q := db.idb.NewInsert().Model(row)
		for _, f := range fields {
			q = q.Value(f.Name, "?")
		}
		return q.String()
	})
	if err != nil {
		return err
	}
	return db.execStmt(ctx, stmt, args)
}

// here returns stmt bound to db's transaction when db is one, and what
// ends that binding.
func (db *DB) here(ctx context.Context, stmt *sql.Stmt) (*sql.Stmt, func()) {
	if tx, ok := db.idb.(bun.Tx); ok {
		s := tx.StmtContext(ctx, stmt)
		return s, func() { s.Close() }
	}
	return stmt, func() {}
}

// execStmt runs stmt with args on db.
func (db *DB) execStmt(ctx context.Context, stmt *sql.Stmt, args []any) error {
	stmt, done := db.here(ctx, stmt)
	defer done()
	_, err := stmt.ExecContext(ctx, args...)
	return err
}

// bunTimeFormat is how bun writes a time into SQLite's text (in UTC).
const bunTimeFormat = "2006-01-02 15:04:05.999999-07:00"

// execQuery is an insert, update or delete.
type execQuery interface {
	String() string
	Exec(ctx context.Context, dest ...any) (sql.Result, error)
}

// prepared returns the pool's statement called name, preparing q's text
// on first use.
func (db *DB) prepared(ctx context.Context, name string, q interface{ String() string }) (*sql.Stmt, error) {
	return db.preparedText(ctx, name, q.String)
}

// preparedText is prepared for a text made only on first use.
func (db *DB) preparedText(ctx context.Context, name string, text func() string) (*sql.Stmt, error) {
	c := db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[name]; ok {
		return s, nil
	}
	s, err := db.bun.DB.PrepareContext(ctx, text())
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[name] = s
	return s, nil
}
