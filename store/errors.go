package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/codepod-dev/codepod"
)

// violation is a constraint a statement broke, named the PostgreSQL way:
// "<table>_pkey" or "<table>_<columns>_key" for unique indexes. The
// migrations name their indexes so, and SQLite's messages are translated.
type violation struct {
	kind       string // "unique" or "foreign_key"
	constraint string
}

// constraintViolation reports which constraint err broke, if any.
func constraintViolation(err error) (violation, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return violation{"unique", pgErr.ConstraintName}, true
		case "23503":
			return violation{"foreign_key", pgErr.ConstraintName}, true
		}
		return violation{}, false
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return violation{"unique", sqliteConstraintName(sqErr.Error())}, true
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return violation{"foreign_key", ""}, true
		}
	}
	return violation{}, false
}

// sqliteConstraintName turns "UNIQUE constraint failed: t.a, t.b" into
// "t_a_b_key", and a primary key ("t.id") into "t_pkey".
func sqliteConstraintName(msg string) string {
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return ""
	}
	cols, _, _ := strings.Cut(msg[i+len("constraint failed: "):], " (")
	table, parts := "", []string{}
	for _, c := range strings.Split(cols, ",") {
		t, col, _ := strings.Cut(strings.TrimSpace(c), ".")
		table, parts = t, append(parts, col)
	}
	if len(parts) == 1 && parts[0] == "id" {
		return table + "_pkey"
	}
	return table + "_" + strings.Join(parts, "_") + "_key"
}

// conflicts maps a unique constraint to the message a user sees.
type conflicts map[string]string

// dbError turns a driver error into a domain error: a unique clash becomes
// ECONFLICT with the message of its constraint in c (or c[""]), a reference
// to a missing row EINVALID, and anything else is wrapped with op as context
// (an internal error, whose text stays in logs).
func dbError(err error, op string, c conflicts) error {
	if err == nil {
		return nil
	}
	var domain *codepod.Error
	if errors.As(err, &domain) {
		return err
	}
	if v, ok := constraintViolation(err); ok {
		switch v.kind {
		case "unique":
			if msg, ok := c[v.constraint]; ok {
				return codepod.Errorf(codepod.ECONFLICT, "%s", msg)
			}
			if msg, ok := c[""]; ok {
				return codepod.Errorf(codepod.ECONFLICT, "%s", msg)
			}
			return codepod.Errorf(codepod.ECONFLICT, "%s: a record with the same key already exists", op)
		case "foreign_key":
			return codepod.Errorf(codepod.EINVALID, "%s: it refers to a user, runner or sandbox that does not exist", op)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// notFound turns sql.ErrNoRows into an ENOTFOUND error naming what and id.
func notFound(err error, op, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return codepod.Errorf(codepod.ENOTFOUND, "%s %q not found", what, id)
	}
	return dbError(err, op, nil)
}

// mustAffect turns a statement that changed no row into ENOTFOUND.
func mustAffect(res sql.Result, err error, op, what, id string) error {
	if err != nil {
		return dbError(err, op, nil)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 0 {
		return codepod.Errorf(codepod.ENOTFOUND, "%s %q not found", what, id)
	}
	return nil
}
