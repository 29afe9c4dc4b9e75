package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/store"
)

// newEnvLimits starts a server on SQLite with the given limits, listening
// on 127.0.0.1 (clients may come from other loopback addresses).
func newEnvLimits(tb testing.TB, limits api.Limits) *env {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(tb.TempDir(), "codepod.db"), nil)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	ctl := control.New(st, control.Config{Logger: log, Registerer: reg, TickInterval: 100 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); ctl.Run(ctx) }()
	e := &env{tb: tb, st: st, dataDir: tb.TempDir(), logs: logs}
	if e.adminKey, _, err = api.Bootstrap(ctx, st, e.dataDir); err != nil {
		tb.Fatal(err)
	}
	s := api.New(api.Config{Store: st, Control: ctl, Logger: log, Version: "test", Registry: reg, Limits: limits})
	e.srv = httptest.NewServer(s.Handler())
	tb.Cleanup(func() {
		e.srv.Close()
		s.Close()
		cancel()
		<-done
		st.Close()
	})
	return e
}

// clientFrom is an HTTP client whose connections come from local address
// ip (any 127.0.0.0/8 address works on Linux's loopback).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 200}}
}

func (e *env) doFrom(c *http.Client, method, path, key, body string) *resp {
	e.tb.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := c.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := &resp{Status: res.StatusCode, Header: res.Header}
	r.Body, _ = io.ReadAll(res.Body)
	json.Unmarshal(r.Body, &r.JSON)
	return r
}

// wantTooMany checks a 429 problem whose Retry-After is a wait in seconds
// that the detail repeats.
func wantTooMany(tb testing.TB, r *resp) {
	tb.Helper()
	wantProblem(tb, r, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 3600 {
		tb.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(r.str("detail"), fmt.Sprintf("retry in %d s", secs)) {
		tb.Errorf("detail %q does not say when to retry", r.str("detail"))
	}
}

// TestAttackBadAPIKeys guesses 300 API keys from one address: after the
// burst every guess is a 429 with Retry-After (and is not even checked),
// while a correct key from another address still works at once.
func TestAttackBadAPIKeys(t *testing.T) {
	e := newEnvLimits(t, api.Limits{})
	attacker, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	counts := map[int]int{}
	var last *resp
	for i := range 300 {
		guess := secret.New(secret.APIKey, secret.NewID("key")).Full
		if i%2 == 0 {
			guess = "cpk_garbage_" + strconv.Itoa(i)
		}
		last = e.doFrom(attacker, "GET", "/api/v1/me", guess, "")
		counts[last.Status]++
	}
	if counts[http.StatusUnauthorized] != api.DefaultAuthFailureBurst || counts[http.StatusTooManyRequests] != 300-api.DefaultAuthFailureBurst {
		t.Errorf("statuses %v, want %d × 401 then 429s", counts, api.DefaultAuthFailureBurst)
	}
	wantTooMany(t, last)
	start := time.Now()
	e.doFrom(other, "GET", "/api/v1/me", e.adminKey, "").want(t, http.StatusOK)
	if d := time.Since(start); d > time.Second {
		t.Errorf("a good key from another address took %s", d)
	}
	// A runner credential is limited the same way (here: per address).
	wantTooMany(t, e.doFrom(attacker, "POST", "/api/v1/runners/poll", "cpr_run_x_"+strings.Repeat("a", 43), "{}"))
}

// TestAttackGuessesOnOneKeyID spreads guesses for one key id over many
// addresses: the key id's own limit stops them.
func TestAttackGuessesOnOneKeyID(t *testing.T) {
	e := newEnvLimits(t, api.Limits{AuthFailureBurst: 5})
	id := secret.NewID("key")
	for i := range 5 {
		guess := secret.New(secret.APIKey, id).Full
		e.doFrom(clientFrom(fmt.Sprintf("127.0.1.%d", i+1)), "GET", "/api/v1/me", guess, "").want(t, http.StatusUnauthorized)
	}
	r := e.doFrom(clientFrom("127.0.1.100"), "GET", "/api/v1/me", secret.New(secret.APIKey, id).Full, "")
	wantTooMany(t, r)
	if !strings.Contains(r.str("detail"), "cpk_"+id) {
		t.Errorf("detail %q does not name the key", r.str("detail"))
	}
}

// TestAttackConcurrentBadLogins sends 100 wrong-password logins at once
// from one address. Before: every one ran argon2id (19 MiB) at once and
// the server's RSS reached 2.1 GB. Now the surplus gets 429 with
// Retry-After, hashing is capped, and the process's RSS grows by less than
// loginRSSBound.
func TestAttackConcurrentBadLogins(t *testing.T) {
	e := newEnvLimits(t, api.Limits{})
	e.newUser("victim@example.com", false) // one good login
	runtime.GC()
	before := testenv.VMRSS(t)
	stop := testenv.SampleRSS(t)
	c := clientFrom("127.0.0.3")
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	var tooMany *resp
	for range 100 {
		wg.Go(func() {
			r := e.doFrom(c, "POST", "/api/v1/auth/login", "", `{"email":"victim@example.com","password":"wrong"}`)
			mu.Lock()
			defer mu.Unlock()
			counts[r.Status]++
			if r.Status == http.StatusTooManyRequests {
				tooMany = r
			}
		})
	}
	wg.Wait()
	peak := stop()
	t.Logf("statuses %v; RSS %d MiB before, peak %d MiB (+%d MiB)", counts, before>>20, peak>>20, (peak-before)>>20)
	if counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != 100 || counts[http.StatusUnauthorized] > api.DefaultLoginBurst {
		t.Errorf("statuses %v", counts)
	}
	if tooMany == nil {
		t.Fatal("no login was refused")
	}
	wantTooMany(t, tooMany)
	if !raceEnabled && peak > before+loginRSSBound {
		t.Errorf("RSS grew by %d MiB, over the %d MiB bound", (peak-before)>>20, loginRSSBound>>20)
	}
}

// loginRSSBound: GOMAXPROCS hashes of 19 MiB at a time plus the garbage
// the GC lets accumulate (GOGC=100 doubles the live heap), with margin
// for a busy machine. The unbounded server took 2 GB.
const loginRSSBound = 256 << 20

// TestAttackLoginHashingQueue fills the hashing slots and their queue
// from many addresses: the surplus is a 429, not a pile of 19 MiB hashes.
func TestAttackLoginHashingQueue(t *testing.T) {
	e := newEnvLimits(t, api.Limits{PasswordHashers: 1, PasswordQueue: 2})
	counts := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var refused []*resp
	for i := range 30 {
		wg.Go(func() {
			c := clientFrom(fmt.Sprintf("127.0.2.%d", i+1))
			r := e.doFrom(c, "POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"email":"u%d@example.com","password":"wrong"}`, i))
			mu.Lock()
			defer mu.Unlock()
			counts[r.Status]++
			if r.Status == http.StatusTooManyRequests {
				refused = append(refused, r)
			}
		})
	}
	wg.Wait()
	if counts[http.StatusTooManyRequests] == 0 || counts[http.StatusUnauthorized] < 3 {
		t.Errorf("statuses %v: want some 401s and the surplus 429", counts)
	}
	for _, r := range refused {
		wantTooMany(t, r)
	}
}
