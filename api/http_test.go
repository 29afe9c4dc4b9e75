package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/internal/secret"
)

func TestUnknownRoutesAreProblems(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/nothing-here", e.adminKey, nil)
	wantProblem(t, r, http.StatusNotFound)
	if r.str("type") != "https://codepod.dev/problems/not-found" || r.str("instance") != "/api/v1/nothing-here" {
		t.Errorf("problem %s", r.Body)
	}
	r = e.do("PUT", "/api/v1/sandboxes", e.adminKey, "{}")
	wantProblem(t, r, http.StatusMethodNotAllowed)
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
}

func TestBodiesMustBeJSON(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/api-keys", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Authorization", "Bearer "+e.adminKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := e.send(req)
	wantProblem(t, r, http.StatusUnsupportedMediaType)
	if !strings.Contains(r.str("detail"), "application/json") {
		t.Errorf("detail %q", r.str("detail"))
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+e.adminKey)
	req.Header.Set("X-Request-Id", "trace-me-123")
	if got := e.send(req).Header.Get("X-Request-Id"); got != "trace-me-123" {
		t.Errorf("X-Request-Id %q, want the one sent", got)
	}
	if !strings.Contains(e.logs.String(), `"request_id":"trace-me-123"`) {
		t.Error("the access log does not carry the request id")
	}
	a := e.do("GET", "/healthz", "", nil).Header.Get("X-Request-Id")
	b := e.do("GET", "/healthz", "", nil).Header.Get("X-Request-Id")
	if a == "" || a == b {
		t.Errorf("generated ids %q and %q", a, b)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/healthz", "", nil).want(t, http.StatusOK); r.str("status") != "ok" {
		t.Errorf("healthz %s", r.Body)
	}
	e.do("GET", "/readyz", "", nil).want(t, http.StatusOK)
	e.st.Close()
	wantProblem(t, e.do("GET", "/readyz", "", nil), http.StatusServiceUnavailable)
	e.do("GET", "/healthz", "", nil).want(t, http.StatusOK)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/api/v1/me", e.adminKey, nil).want(t, http.StatusOK)
	e.do("GET", "/api/v1/sandboxes/nope", e.adminKey, nil).want(t, http.StatusNotFound)
	r := e.do("GET", "/metrics", "", nil).want(t, http.StatusOK)
	for _, want := range []string{
		`codepod_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1`,
		`codepod_http_requests_total{method="GET",route="/api/v1/sandboxes/{id}",status="404"} 1`,
		`codepod_http_request_duration_seconds_count{method="GET",route="/api/v1/me"} 1`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestPanicsBecomeProblems(t *testing.T) {
	// A server with no store panics on the first store call; the client
	// must still get a problem document, and the server must survive.
	s := api.New(api.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret.New(secret.APIKey, secret.NewID("key")).Full)
	e := &env{tb: t, srv: srv}
	wantProblem(t, e.send(req), http.StatusInternalServerError)
	e.do("GET", "/healthz", "", nil).want(t, http.StatusOK)
}

func TestSpecAndDocsAreServed(t *testing.T) {
	e := newEnv(t)
	want, err := api.SpecYAML()
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/openapi.yaml", "", nil).want(t, http.StatusOK)
	if string(r.Body) != string(want) {
		t.Error("/openapi.yaml differs from SpecYAML()")
	}
	if j := e.do("GET", "/openapi.json", "", nil).want(t, http.StatusOK); j.JSON["openapi"] != "3.0.3" {
		t.Errorf("/openapi.json is %v", j.JSON["openapi"])
	}
	d := e.do("GET", "/docs", "", nil).want(t, http.StatusOK)
	if !strings.Contains(string(d.Body), "/api/v1/sandboxes/{id}/ssh-tokens") || strings.Contains(string(d.Body), "<script src=") {
		t.Errorf("docs page: %.300s", d.Body)
	}
}

func TestNoSchemaLinks(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/me", e.adminKey, nil).want(t, http.StatusOK)
	if _, ok := r.JSON["$schema"]; ok || r.Header.Get("Link") != "" {
		t.Errorf("response carries schema links: %s %v", r.Body, r.Header.Get("Link"))
	}
}
