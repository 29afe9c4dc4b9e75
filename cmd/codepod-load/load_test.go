package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestLoadSmall runs the harness at a small scale on both databases, so it
// cannot rot: every create is delivered to a simulated runner once, every
// list pass sees every sandbox, every exec of `true` on a real runner
// (SQLite only) exits 0, no poll fails, and the server's goroutines
// stay bounded by a small multiple of the polls it holds. It asserts no
// timings: the figures are docs/benchmarks.md's, from full-size runs.
func TestLoadSmall(t *testing.T) {
	dir, err := testenv.Binaries() // codepod-agent next to codepod, for the real runner
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "codepod")
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "codepod.db") }},
		{"postgres", testenv.PostgresURL},
	} {
		t.Run(db.name, func(t *testing.T) {
			c := config{Codepod: bin, DatabaseURL: db.url(t), Runners: 50, Sandboxes: 500, Baseline: 100,
				Concurrency: 4, ListClients: 2, PageSize: 50, Timeout: 4 * time.Minute}
			if db.name == "sqlite" { // one real runner on Docker, once
				c.ExecSandboxes, c.Execs, c.ExecRounds = 2, 20, 1
			}
			var logs testenv.Buffer
			rep, err := run(context.Background(), c, &logs)
			if err != nil {
				t.Fatalf("run: %v\nserver output:\n%s", err, logs.String())
			}
			var out bytes.Buffer
			rep.print(&out)
			t.Log("\n" + out.String())
			if rep.Delivery.N != c.Sandboxes || rep.BaselineCreate.N != c.Baseline {
				t.Errorf("delivered %d and %d creates; want %d and %d", rep.Delivery.N, rep.BaselineCreate.N, c.Sandboxes, c.Baseline)
			}
			if want := c.ListClients * ((c.Sandboxes+c.Baseline)/c.PageSize + 1); rep.Pages < want-c.ListClients {
				t.Errorf("listed %d pages; want about %d", rep.Pages, want)
			}
			if rep.Exec.N != c.Execs*c.ExecRounds {
				t.Errorf("%d execs answered; want %d", rep.Exec.N, c.Execs*c.ExecRounds)
			}
			if rep.PollErrors != 0 {
				t.Errorf("%d polls failed; the last: %s", rep.PollErrors, rep.LastPollError)
			}
			if limit := 3*c.Runners + 100; rep.IdleGoroutines > limit || rep.Goroutines > limit {
				t.Errorf("server goroutines %d (all polling) and %d (at the end); want at most %d for %d held polls",
					rep.IdleGoroutines, rep.Goroutines, limit, c.Runners)
			}
		})
	}
}
