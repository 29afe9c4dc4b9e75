// Package testenv gives tests the real services they need (PostgreSQL, the
// Docker Engine, OpenSSH) and decides what happens when one is missing: in CI
// (the CI environment variable is set) the test fails; on a developer's
// machine it is skipped with a message that says what to start.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DefaultPostgresURL is where .ci/run starts PostgreSQL.
const DefaultPostgresURL = "postgres://codepod:codepod@127.0.0.1:5432/codepod?sslmode=disable"

// Missing fails the test in CI and skips it elsewhere.
func Missing(tb testing.TB, what, how string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is required in CI but not available: %s", what, how)
	}
	tb.Skipf("skipping: %s not available (%s); CI runs this test", what, how)
}

// PostgresURL returns the URL of a new, empty PostgreSQL database that is
// dropped when the test ends. The server is CODEPOD_TEST_POSTGRES_URL (an
// account that may create databases), or DefaultPostgresURL.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("CODEPOD_TEST_POSTGRES_URL")
	if admin == "" {
		admin = DefaultPostgresURL
	}
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		tb.Fatalf("CODEPOD_TEST_POSTGRES_URL: %v", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Missing(tb, "PostgreSQL", fmt.Sprintf("%v; set CODEPOD_TEST_POSTGRES_URL or start it as .ci/run does", err))
	}
	name := "codepod_test_" + randHex(6)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() { dropDatabase(tb, admin, name) })
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func dropDatabase(tb testing.TB, admin, name string) {
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		return
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		tb.Logf("drop test database %s: %v", name, err)
	}
}

// OpenPostgres is PostgresURL opened as a *sql.DB.
func OpenPostgres(tb testing.TB) *sql.DB {
	cfg, err := pgx.ParseConfig(PostgresURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { db.Close() })
	return db
}

// Docker makes sure a Docker Engine answers (`docker info`).
func Docker(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		Missing(tb, "Docker Engine", fmt.Sprintf("docker info: %v: %s", err, out))
	}
}

// Command makes sure a program is on PATH and returns its path.
func Command(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, name, "install it (see .ci/run)")
	}
	return p
}

// RepoRoot is the module's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
	builds  sync.Map // package name → *build
)

type build struct {
	once sync.Once
	err  error
}

// Build compiles ./cmd/<name> (static, CGO_ENABLED=0) once per test binary
// into one temporary directory shared by all builds, so `codepod runner`
// finds codepod-agent next to itself, and returns the binary's path.
func Build(name string) (string, error) {
	binOnce.Do(func() { binDir, binErr = os.MkdirTemp("", "codepod-test-bin-") })
	if binErr != nil {
		return "", binErr
	}
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	path := filepath.Join(binDir, name)
	b.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", path, "./cmd/"+name)
		cmd.Dir = RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
	})
	return path, b.err
}

// Binaries builds codepod and codepod-agent and returns their directory.
func Binaries() (string, error) {
	for _, name := range []string{"codepod", "codepod-agent"} {
		if _, err := Build(name); err != nil {
			return "", err
		}
	}
	return binDir, nil
}

// AgentBinary builds cmd/codepod-agent once per test binary and returns its
// path, failing the test when it does not build.
func AgentBinary(tb testing.TB) string {
	tb.Helper()
	p, err := Build("codepod-agent")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

var (
	tinyOnce sync.Once
	tinyErr  error
)

// TinyImage makes sure codepod/tiny:latest exists, building it with
// `codepod image build tiny` when it does not.
func TinyImage(codepodBin string) error {
	tinyOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", "codepod/tiny:latest").Run() == nil {
			return
		}
		if out, err := exec.Command(codepodBin, "image", "build", "tiny").CombinedOutput(); err != nil {
			tinyErr = fmt.Errorf("build codepod/tiny:latest: %v\n%s", err, out)
		}
	})
	return tinyErr
}

var (
	baseOnce sync.Once
	baseErr  error
)

// BaseImage makes sure codepod/base:latest exists, building it with
// `codepod image build base` (debootstrap, minutes) when it does not.
func BaseImage(codepodBin string) error {
	baseOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", "codepod/base:latest").Run() == nil {
			return
		}
		if out, err := exec.Command(codepodBin, "image", "build", "base").CombinedOutput(); err != nil {
			baseErr = fmt.Errorf("build codepod/base:latest: %v\n%s", err, out)
		}
	})
	return baseErr
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
