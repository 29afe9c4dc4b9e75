package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config bounds one run.
type config struct {
	Codepod     string // the codepod binary
	DatabaseURL string // "": SQLite in the server's data directory
	Runners     int
	Sandboxes   int // created with every runner registered
	Baseline    int // created first, on an empty server
	// BaselineRunners poll during the baseline (default Concurrency), so
	// each create there also costs a runner its own poll, as at scale.
	BaselineRunners int
	Concurrency     int
	ListClients     int // concurrent list passes (default 1)
	PageSize        int
	// ExecSandboxes on one real runner (Docker, codepod/tiny:latest) take
	// Execs concurrent execs of `true`, ExecRounds times; 0: no exec phase.
	ExecSandboxes int
	Execs         int
	ExecRounds    int
	Timeout       time.Duration
}

// run starts a server, loads it as c says and reports what it measured.
// The server's own output goes to logs.
func run(ctx context.Context, c config, logs io.Writer) (*report, error) {
	c.ListClients = max(c.ListClients, 1)
	if c.BaselineRunners <= 0 {
		c.BaselineRunners = min(c.Concurrency, c.Runners)
	}
	if c.Runners < c.BaselineRunners || c.Sandboxes < 1 || c.Baseline < 1 || c.Concurrency < 1 || c.PageSize < 1 || c.PageSize > 500 {
		return nil, errors.New("runners (at least the baseline's), sandboxes, baseline and concurrency must be at least 1; page 1 to 500")
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	srv, err := startServer(ctx, c.Codepod, c.DatabaseURL, logs)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	rep := &report{Database: "sqlite", Runners: c.Runners, BaselineRunners: c.BaselineRunners, Sandboxes: c.Sandboxes, Baseline: c.Baseline, Concurrency: c.Concurrency}
	if strings.HasPrefix(c.DatabaseURL, "postgres") {
		rep.Database = "postgres"
	}
	stopRSS := sampleRSS(srv, &rep.PeakRSS)
	defer stopRSS()
	cl := newClient(srv.url, c.Runners+c.Concurrency)
	var tok struct{ Token string }
	if err := cl.do(ctx, http.MethodPost, "/api/v1/runner-tokens", srv.adminKey, map[string]string{"expires_in": "0"}, &tok, http.StatusCreated); err != nil {
		return nil, err
	}
	f := &fleet{c: cl, token: tok.Token, capacity: c.Baseline/c.BaselineRunners + 2*(c.Sandboxes/c.Runners+1)}
	pollCtx, stopPolls := context.WithCancel(ctx)
	defer func() { stopPolls(); f.wg.Wait() }()

	// The baseline: an empty database, a few runners.
	if err := f.register(pollCtx, c.BaselineRunners, c.Concurrency, 0); err != nil {
		return rep, err
	}
	base, err := createPhase(ctx, cl, srv.adminKey, f, "base", c.Baseline, c.Concurrency)
	if err != nil {
		return rep, err
	}
	rep.BaselinePerSec, rep.BaselineCreate = base.perSec, base.create

	// At scale: every runner long-polling.
	t0 := time.Now()
	if err := f.register(pollCtx, c.Runners-c.BaselineRunners, c.Concurrency*2, c.BaselineRunners); err != nil {
		return rep, err
	}
	rep.RegisterSeconds = time.Since(t0).Seconds()
	if rep.IdleGoroutines, err = srv.goroutines(ctx); err != nil {
		return rep, err
	}
	if rep.IdleRSS, err = srv.rss(); err != nil {
		return rep, err
	}
	scale, err := createPhase(ctx, cl, srv.adminKey, f, "load", c.Sandboxes, c.Concurrency)
	if err != nil {
		return rep, err
	}
	rep.PerSec, rep.Create, rep.Delivery, rep.DeliveryAfter = scale.perSec, scale.create, scale.delivery, scale.after
	rep.BaselineDeliveryAfter = base.after
	rep.Ratio = rep.PerSec / rep.BaselinePerSec
	if rep.List, rep.Pages, err = listPhase(ctx, cl, srv.adminKey, c.PageSize, c.ListClients, c.Sandboxes+c.Baseline); err != nil {
		return rep, err
	}
	if c.ExecSandboxes > 0 && c.Execs > 0 {
		if rep.Exec, err = execPhase(ctx, srv, cl, tok.Token, c.ExecSandboxes, c.Execs, max(c.ExecRounds, 1), logs); err != nil {
			return rep, fmt.Errorf("exec: %w", err)
		}
	}
	if rep.Goroutines, err = srv.goroutines(ctx); err != nil {
		return rep, err
	}
	if rep.RSS, err = srv.rss(); err != nil {
		return rep, err
	}
	rep.PollErrors = f.errors.Load()
	if e, ok := f.lastErr.Load().(string); ok {
		rep.LastPollError = e
	}
	return rep, nil
}

type phase struct {
	perSec   float64
	create   percentiles
	delivery percentiles // from the create's request
	after    percentiles // from the create's answer
}

// createPhase creates n sandboxes named prefix-i with workers concurrent
// clients and waits until a runner holds each one's create job.
func createPhase(ctx context.Context, cl *client, key string, f *fleet, prefix string, n, workers int) (phase, error) {
	reached := f.expect(n)
	var lat []time.Duration
	answered := make(map[string]time.Time, n)
	var mu sync.Mutex
	var next atomic.Int64
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n && ctx.Err() == nil; i = int(next.Add(1)) {
				name := fmt.Sprintf("%s-%d", prefix, i)
				t := time.Now()
				f.sent.Store(name, t)
				body := map[string]string{"name": name, "image": "codepod/tiny:latest", "memory": "64m"}
				err := cl.do(ctx, http.MethodPost, "/api/v1/sandboxes", key, body, nil, http.StatusCreated)
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				answered[name] = t.Add(d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return phase{}, fmt.Errorf("create: %w", firstErr)
	}
	select {
	case <-reached:
	case <-ctx.Done():
		return phase{}, fmt.Errorf("%d of %d create jobs delivered: %w", len(f.deliveries()), n, ctx.Err())
	}
	return phase{perSec: float64(n) / elapsed.Seconds(), create: percentilesOf(lat),
		delivery: percentilesOf(f.deliveries()), after: percentilesOf(f.afterAnswer(answered))}, nil
}

// listPhase has workers clients each list every sandbox page by page
// (keyset cursor) and checks each sees want of them.
func listPhase(ctx context.Context, cl *client, key string, size, workers, want int) (percentiles, int, error) {
	var lat []time.Duration
	var mu sync.Mutex
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, cursor := 0, ""
			for {
				var page struct {
					Items      []struct{ ID string }
					NextCursor string `json:"next_cursor"`
				}
				q := url.Values{"limit": {fmt.Sprint(size)}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				t := time.Now()
				if err := cl.do(ctx, http.MethodGet, "/api/v1/sandboxes?"+q.Encode(), key, nil, &page, http.StatusOK); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t))
				mu.Unlock()
				seen += len(page.Items)
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			if seen != want {
				errs <- fmt.Errorf("list saw %d sandboxes, want %d", seen, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return percentiles{}, 0, err
	}
	return percentilesOf(lat), len(lat), nil
}

// sampleRSS records the server's peak RSS in *peak every 100ms until the
// returned function is called.
func sampleRSS(srv *server, peak *int64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if n, err := srv.rss(); err == nil && n > atomic.LoadInt64(peak) {
				atomic.StoreInt64(peak, n)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
