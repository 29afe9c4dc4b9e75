package store_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/store"
)

// backend is a database the conformance suite runs on.
type backend struct {
	name string
	// url returns the URL of a new, empty database.
	url func(tb testing.TB) string
	// raw opens url without the store, to look under it.
	raw func(tb testing.TB, url string) *sql.DB
}

var backends = []backend{
	{
		name: "sqlite",
		url: func(tb testing.TB) string {
			return "sqlite://" + filepath.Join(tb.TempDir(), "codepod.db")
		},
		raw: func(tb testing.TB, url string) *sql.DB {
			db, err := sql.Open("sqlite", strings.TrimPrefix(url, "sqlite://"))
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { db.Close() })
			return db
		},
	},
	{
		name: "postgres",
		url:  func(tb testing.TB) string { return testenv.PostgresURL(tb) },
		raw: func(tb testing.TB, url string) *sql.DB {
			cfg, err := pgx.ParseConfig(url)
			if err != nil {
				tb.Fatal(err)
			}
			db := stdlib.OpenDB(*cfg)
			tb.Cleanup(func() { db.Close() })
			return db
		},
	},
}

// conformance is the suite every backend must pass.
var conformance = []struct {
	name string
	run  func(t *testing.T, b backend)
}{
	{"users", testUsers},
	{"api_keys", testAPIKeys},
	{"runner_tokens", testRunnerTokens},
	{"ssh_keys", testSSHKeys},
	{"runners", testRunners},
	{"sandboxes", testSandboxes},
	{"sandbox_names", testSandboxNames},
	{"sandbox_list", testSandboxList},
	{"sandbox_queries", testSandboxQueries},
	{"sandbox_version", testSandboxVersion},
	{"sandbox_spec_update", testSandboxSpecUpdate},
	{"sandbox_version_race", testSandboxVersionRace},
	{"ports", testPorts},
	{"idle", testIdle},
	{"job_text", testJobText},
	{"jobs", testJobs},
	{"claim_expired", testClaimExpired},
	{"claim_concurrent", testClaimConcurrent},
	{"tx", testTx},
	{"tx_deadlock_retried", testTxDeadlockRetried},
	{"migrations", testMigrations},
	{"workspace_migration", testWorkspaceMigration},
	{"workspaces", testWorkspaces},
	{"stale_migration_lock", testStaleMigrationLock},
	{"concurrent_open", testConcurrentOpen},
}

// TestStore runs the conformance suite on SQLite and on PostgreSQL.
func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range conformance {
				t.Run(c.name, func(t *testing.T) { c.run(t, b) })
			}
		})
	}
}

func TestOpenRejectsUnknownURLs(t *testing.T) {
	for _, u := range []string{"", "mysql://root@localhost/db", "sqlite://"} {
		if db, err := store.Open(context.Background(), u, nil); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
}

// open opens a fresh database of b, closed when the test ends.
func open(t testing.TB, b backend) *store.DB {
	t.Helper()
	return openURL(t, b.url(t), nil)
}

func openURL(t testing.TB, url string, logger *slog.Logger) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url, logger)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// wantCode fails the test unless err carries the domain code want and,
// if given, a message containing each of words.
func wantCode(t testing.TB, err error, want string, words ...string) {
	t.Helper()
	if got := codepod.ErrorCode(err); got != want {
		t.Fatalf("error = %v (code %q), want code %q", err, got, want)
	}
	var e *codepod.Error
	if errors.As(err, &e) {
		for _, w := range words {
			if !strings.Contains(e.Message, w) {
				t.Fatalf("error message %q does not mention %q", e.Message, w)
			}
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newUser creates a user with email.
func newUser(t testing.TB, db *store.DB, email string) *codepod.User {
	t.Helper()
	u := &codepod.User{Email: email, Name: "Test"}
	must(t, db.CreateUser(context.Background(), u))
	return u
}
