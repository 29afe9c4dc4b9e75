package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/codepod-dev/codepod/migrations"
)

// migrationsTable is where bun/migrate records applied migrations.
const migrationsTable = "bun_migrations"

// pgMigrateLockKey is the PostgreSQL advisory lock that lets one server
// replica migrate at a time ("codepod" in ASCII).
const pgMigrateLockKey int64 = 0x636f6465706f64

// sqliteMigrateMu lets one Open of this process migrate a SQLite database at
// a time. (Several processes on one SQLite file are not supported.)
var sqliteMigrateMu sync.Mutex

// migrateUp applies the dialect's unapplied migrations and returns their
// names. Each migration and its record commit in one transaction, so a crash
// never leaves a schema change unrecorded. A migration lock row left by a
// crashed start is removed with a warning: on PostgreSQL an advisory lock,
// which the server drops with its session, keeps replicas that start at once
// from migrating together; on SQLite, a mutex does so within the process.
func migrateUp(ctx context.Context, db *bun.DB, dialect string, logger *slog.Logger) ([]string, error) {
	fsys, err := migrations.FS(dialect)
	if err != nil {
		return nil, err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	m := migrate.NewMigrator(db, ms, migrate.WithTableName(migrationsTable),
		migrate.WithMarkAppliedOnSuccess(true), migrate.WithUpsert(true),
		migrate.AfterMigration(recordInTx))
	if dialect == DialectPostgres {
		release, err := pgAdvisoryLock(ctx, db)
		if err != nil {
			return nil, err
		}
		defer release()
	} else {
		sqliteMigrateMu.Lock()
		defer sqliteMigrateMu.Unlock()
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	if err := lockMigrator(ctx, m, logger); err != nil {
		return nil, err
	}
	defer m.Unlock(context.WithoutCancel(ctx))
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s database: %w", dialect, err)
	}
	if group.IsZero() {
		return nil, nil
	}
	names := make([]string, 0, len(group.Migrations))
	for _, mig := range group.Migrations {
		names = append(names, mig.Name+"_"+mig.Comment)
	}
	logger.Info("applied database migrations", "dialect", dialect, "migrations", names)
	return names, nil
}

// lockMigrator takes bun's migration lock, removing a stale one first.
func lockMigrator(ctx context.Context, m *migrate.Migrator, logger *slog.Logger) error {
	if err := m.Lock(ctx); err == nil {
		return nil
	}
	logger.Warn("removing a stale database migration lock, left by a start that did not finish")
	if err := m.Unlock(ctx); err != nil {
		return fmt.Errorf("remove stale migration lock: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	return nil
}

// recordInTx records a migration inside the transaction that ran it. The
// migrator's own record, made after the commit, then upserts the same row.
func recordInTx(ctx context.Context, conn bun.IConn, mig *migrate.Migration) error {
	tx, ok := conn.(bun.Tx)
	if !ok {
		return nil
	}
	_, err := tx.NewInsert().Model(mig).ModelTableExpr(migrationsTable).Exec(ctx)
	return err
}

// pgAdvisoryLock waits for the migration advisory lock on a connection of
// its own and returns the function that releases it.
func pgAdvisoryLock(ctx context.Context, db *bun.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", pgMigrateLockKey); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", pgMigrateLockKey)
		conn.Close()
	}, nil
}
