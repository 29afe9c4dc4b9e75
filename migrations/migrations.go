// Package migrations holds CodePod's versioned database schema: one folder of
// SQL files per dialect (sqlite/, postgres/), embedded into the binary and
// applied by package store when it opens a database.
//
// Files follow bun/migrate's naming, VERSION_NAME.tx.up.sql and
// VERSION_NAME.tx.down.sql: each runs in its own transaction, and statements
// are separated by "--bun:split" lines. A released file is never edited;
// a change of schema is a new version in both folders.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialects this package has migrations for.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// FS returns the migrations of one dialect (SQLite or Postgres) as a
// flat file system. Each dialect gets its own sub-tree because
// migrate.Discover walks subdirectories and would merge both.
func FS(dialect string) (fs.FS, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", dialect, err)
	}
	return sub, nil
}
