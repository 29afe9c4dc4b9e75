package store_test

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/store"
)

func testMigrations(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	db := openURL(t, url, nil)
	if db.Dialect() != b.name {
		t.Errorf("Dialect = %q, want %q", db.Dialect(), b.name)
	}
	if got := db.Migrated(); len(got) == 0 || got[0] != "20261127000001_init" {
		t.Fatalf("first Open applied %v, want the init migration first", got)
	}
	must(t, db.Close())

	raw := b.raw(t, url)
	var names []string
	rows, err := raw.QueryContext(ctx, "SELECT name FROM bun_migrations ORDER BY name")
	must(t, err)
	for rows.Next() {
		var n string
		must(t, rows.Scan(&n))
		names = append(names, n)
	}
	must(t, rows.Err())
	if len(names) != len(db.Migrated()) || names[0] != "20261127000001" {
		t.Errorf("recorded migrations = %v, want one row per applied migration", names)
	}

	again := openURL(t, url, nil)
	if got := again.Migrated(); len(got) != 0 {
		t.Errorf("second Open applied %v, want nothing", got)
	}
	if n, err := again.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountUsers on the reopened database = %d, %v", n, err)
	}
}

// testStaleMigrationLock opens a database whose migration lock was left
// behind by a start that crashed: Open must clear it, with a warning.
func testStaleMigrationLock(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	must(t, openURL(t, url, nil).Close())
	raw := b.raw(t, url)
	_, err := raw.ExecContext(ctx, "INSERT INTO bun_migration_locks (table_name) VALUES ('bun_migrations')")
	must(t, err)

	var logs testenv.Buffer
	db := openURL(t, url, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "stale") {
		t.Errorf("no warning about the stale lock in the log:\n%s", logs.String())
	}
	var locks int
	must(t, raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM bun_migration_locks").Scan(&locks))
	if locks != 0 {
		t.Errorf("%d migration locks left after Open, want 0", locks)
	}
	if got := db.Migrated(); !reflect.DeepEqual(got, []string(nil)) && len(got) != 0 {
		t.Errorf("Open after a stale lock applied %v, want nothing", got)
	}
}

// testConcurrentOpen starts several servers on one new database at once (the
// replicas of a deployment): all must open it, and the schema is applied once.
func testConcurrentOpen(t *testing.T, b backend) {
	url := b.url(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied int
	)
	for range 4 {
		wg.Go(func() {
			db, err := store.Open(context.Background(), url, nil)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			defer db.Close()
			mu.Lock()
			applied += len(db.Migrated())
			mu.Unlock()
		})
	}
	wg.Wait()
	db := openURL(t, url, nil)
	// Together they apply each migration once: as many as one Open of a
	// fresh database applies.
	if want := len(openURL(t, b.url(t), nil).Migrated()); applied != want || len(db.Migrated()) != 0 {
		t.Errorf("concurrent Opens applied %d migrations in total, want %d", applied, want)
	}
}
