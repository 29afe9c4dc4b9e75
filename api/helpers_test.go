package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/store"
)

// env is a real server on a real store, reached over HTTP.
type env struct {
	tb       testing.TB
	st       codepod.Store
	srv      *httptest.Server
	adminKey string
	dataDir  string
	logs     *testenv.Buffer
	api      *api.Server
}

// stores names the databases a test runs on: SQLite always, PostgreSQL
// where testenv provides one.
var stores = []string{"sqlite", "postgres"}

func databaseURL(tb testing.TB, kind string) string {
	tb.Helper()
	if kind == "postgres" {
		return testenv.PostgresURL(tb)
	}
	return "sqlite://" + filepath.Join(tb.TempDir(), "codepod.db")
}

// newEnv starts a server on SQLite.
func newEnv(tb testing.TB) *env { return newEnvOn(tb, "sqlite", nil) }

// newEnvOn starts a server on the given database; tweak, if set, adjusts
// the httptest server before it starts.
func newEnvOn(tb testing.TB, kind string, tweak func(*http.Server)) *env {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, databaseURL(tb, kind), nil)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	ctl := control.New(st, control.Config{Logger: log, Registerer: reg, TickInterval: 100 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); ctl.Run(ctx) }()

	e := &env{tb: tb, st: st, dataDir: tb.TempDir(), logs: logs}
	key, created, err := api.Bootstrap(ctx, st, e.dataDir)
	if err != nil || !created {
		tb.Fatalf("bootstrap: created=%v err=%v", created, err)
	}
	e.adminKey = key
	s := api.New(api.Config{Store: st, Control: ctl, Logger: log, Version: "test", Registry: reg, MaxBodyBytes: 64 << 10,
		DataDir: e.dataDir, MaxBlobBytes: 1 << 20})
	e.api = s
	e.srv = httptest.NewUnstartedServer(s.Handler())
	if tweak != nil {
		tweak(e.srv.Config)
	}
	e.srv.Start()
	tb.Cleanup(func() {
		e.srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return e
}

// resp is a decoded response.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// do sends a request with key as bearer (none when "") and body as JSON
// (a string or []byte is sent as is).
func (e *env) do(method, path, key string, body any) *resp {
	e.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) *resp {
	e.tb.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &resp{Status: res.StatusCode, Header: res.Header, Body: b}
	json.Unmarshal(b, &r.JSON)
	return r
}

// want fails the test unless the response has the given status.
func (r *resp) want(tb testing.TB, status int) *resp {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// str returns a string member of the JSON body.
func (r *resp) str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// decode decodes the body into v.
func (r *resp) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// newUser makes a user (through the API, as admin) and logs in as them,
// returning their login key.
func (e *env) newUser(email string, admin bool) string {
	e.tb.Helper()
	e.do("POST", "/api/v1/users", e.adminKey, map[string]any{
		"email": email, "name": "Test " + email, "password": "correct horse battery", "admin": admin,
	}).want(e.tb, http.StatusCreated)
	r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": "correct horse battery"})
	return r.want(e.tb, http.StatusOK).str("token")
}

// wantProblem checks that r is a complete problem document with status.
func wantProblem(tb testing.TB, r *resp, status int) {
	tb.Helper()
	r.want(tb, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		tb.Errorf("Content-Type %q, want application/problem+json; body: %s", ct, r.Body)
	}
	for _, k := range []string{"type", "title", "detail", "instance"} {
		if r.str(k) == "" {
			tb.Errorf("problem has no %s: %s", k, r.Body)
		}
	}
	if got, _ := r.JSON["status"].(float64); int(got) != status {
		tb.Errorf("problem status %v, want %d", r.JSON["status"], status)
	}
	if status == http.StatusInternalServerError && !strings.HasPrefix(r.str("detail"), "internal error") {
		tb.Errorf("500 detail leaks: %q", r.str("detail"))
	}
}
