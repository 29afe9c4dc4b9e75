package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite" // the "sqlite" driver (pure Go, no cgo)
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlitePragmas are set on every SQLite connection. Transactions begin
// IMMEDIATE (as writers), so a transaction that reads and then writes never
// fails with SQLITE_BUSY half-way; writers wait for each other up to the
// busy timeout instead.
var sqlitePragmas = fmt.Sprintf("_pragma=journal_mode(WAL)&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)"+
	"&_pragma=synchronous(NORMAL)&_txlock=immediate", sqliteBusyTimeout.Milliseconds())

// Open connects to databaseURL and brings its schema up to date.
//
// databaseURL is sqlite:///abs/path.db, sqlite://relative/path.db or a bare
// file path for SQLite (the file and its directory are created if missing),
// or postgres://… / postgresql://… for PostgreSQL (any libpq-style URL pgx
// accepts). A nil logger discards logs.
func Open(ctx context.Context, databaseURL string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := openPool(databaseURL)
	if err != nil {
		return nil, err
	}
	db.logger = logger
	if err := db.ping(ctx); err != nil {
		db.bun.Close()
		return nil, fmt.Errorf("open %s database: %w", db.dialect, err)
	}
	if db.migrated, err = migrateUp(ctx, db.bun, db.dialect, logger); err != nil {
		db.bun.Close()
		return nil, err
	}
	return db, nil
}

// ping makes the pool's first connection. On SQLite that connection sets
// the journal mode to WAL, which on a new file takes an exclusive lock
// that SQLite refuses at once (SQLITE_BUSY, no busy timeout) to a second
// connection converting it at the same moment: servers opening one new
// database together. A refused connection is made again, for up to the
// busy timeout.
func (db *DB) ping(ctx context.Context) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	for {
		err := db.bun.PingContext(ctx)
		var sqErr *sqlite.Error
		if err == nil || db.dialect != DialectSQLite || !errors.As(err, &sqErr) ||
			sqErr.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
	}
}

// sqliteBusyTimeout is how long a SQLite connection waits for a lock (the
// busy_timeout pragma).
const sqliteBusyTimeout = 10 * time.Second

func openPool(databaseURL string) (*DB, error) {
	scheme, rest, hasScheme := strings.Cut(databaseURL, "://")
	switch {
	case strings.TrimSpace(databaseURL) == "":
		return nil, fmt.Errorf("open database: the database URL is empty (use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB)")
	case scheme == "postgres" || scheme == "postgresql":
		return openPostgres(databaseURL)
	case scheme == "sqlite" || scheme == "sqlite3":
		return openSQLite(rest)
	case !hasScheme:
		return openSQLite(databaseURL)
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme %q (use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB)", scheme)
	}
}

func openSQLite(path string) (*DB, error) {
	path, query, _ := strings.Cut(path, "?")
	if path == "" {
		return nil, fmt.Errorf("open sqlite database: the URL names no file (use sqlite:///abs/path.db or sqlite://relative.db)")
	}
	conns := 8
	if path == ":memory:" {
		conns = 1 // every connection would get its own empty database
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite database: %w", err)
	} else if err := restrictFiles(path); err != nil {
		return nil, fmt.Errorf("open sqlite database: %w", err)
	}
	dsn := path + "?" + sqlitePragmas
	if query != "" {
		dsn += "&" + query
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(conns)
	sqldb.SetMaxIdleConns(conns)
	sqldb.SetConnMaxIdleTime(0)
	b := bun.NewDB(sqldb, sqlitedialect.New())
	return &DB{bun: b, idb: b, dialect: DialectSQLite, sqlite: newWriteLock(), stmts: &stmts{}, audits: &auditBatcher{}}, nil
}

func openPostgres(databaseURL string) (*DB, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres database: %w", err)
	}
	// bun writes every argument into a query's text, so most statements
	// are new to the server; pgx's default mode prepares and caches each
	// one, an extra round trip (and a parse kept per connection) for nearly
	// every statement. Exec mode sends parse, bind and execute at once.
	// A URL that names default_query_exec_mode keeps its own.
	if !strings.Contains(databaseURL, "default_query_exec_mode") {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(20)
	sqldb.SetMaxIdleConns(10)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	b := bun.NewDB(sqldb, pgdialect.New())
	return &DB{bun: b, idb: b, dialect: DialectPostgres, pgConfig: cfg, audits: &auditBatcher{}}, nil
}

// PrepareDataDir makes dir if it is missing and sets its mode to 0700
// whatever it was: it holds the database and the admin key.
func PrepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// restrictFiles creates the SQLite file at path 0600 if it is missing and
// sets it and its -wal, -shm and -journal files to 0600 whatever they were.
// SQLite gives the files it creates later the database file's mode.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
