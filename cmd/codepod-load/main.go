// Command codepod-load measures the control plane at scale: it starts a
// real `codepod server` (a subprocess, on SQLite or PostgreSQL), registers
// simulated runners that long-poll it over loopback HTTP, creates
// sandboxes through the REST API, lists them page by page, and reports the
// server's RSS and goroutines and the latencies of create, list and
// poll-to-delivery, beside the create throughput of an empty server
// measured first in the same run. See docs/benchmarks.md.
//
// What is real: the server binary, its database, HTTP, the runner
// protocol (register, long-poll, job results). What is simulated: the
// runners answer every job at once without Docker (so a thousand of them
// fit on one machine).
//
// Everything is bounded: counts are flags and -timeout ends the run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var c config
	flag.StringVar(&c.Codepod, "codepod", "codepod", "path of the codepod binary that serves")
	flag.StringVar(&c.DatabaseURL, "database-url", "", "database of the server: an empty PostgreSQL database (postgres://…); empty: a new SQLite file")
	flag.IntVar(&c.Runners, "runners", 1000, "simulated runners")
	flag.IntVar(&c.Sandboxes, "sandboxes", 10000, "sandboxes created at scale")
	flag.IntVar(&c.Baseline, "baseline", 1000, "sandboxes created on the empty server first")
	flag.IntVar(&c.BaselineRunners, "baseline-runners", 0, "runners polling during the baseline (default: -concurrency)")
	flag.IntVar(&c.Concurrency, "concurrency", 8, "concurrent create and list clients")
	flag.IntVar(&c.PageSize, "page", 100, "list page size")
	flag.IntVar(&c.ListClients, "list-clients", 1, "clients that each list every sandbox at once")
	flag.IntVar(&c.ExecSandboxes, "exec-sandboxes", 4, "sandboxes on one real runner (Docker, codepod/tiny:latest) for the exec phase; 0: none")
	flag.IntVar(&c.Execs, "execs", 200, "concurrent execs of `true` in the exec phase")
	flag.IntVar(&c.ExecRounds, "exec-rounds", 3, "rounds of concurrent execs")
	flag.DurationVar(&c.Timeout, "timeout", 10*time.Minute, "the whole run ends after this")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	rep, err := run(ctx, c, os.Stderr)
	if rep != nil {
		if *asJSON {
			json.NewEncoder(os.Stdout).Encode(rep)
		} else {
			rep.print(os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "codepod-load:", err)
		os.Exit(1)
	}
}
