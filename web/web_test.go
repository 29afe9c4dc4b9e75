package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/web"
)

func get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestRootRedirectsToUI(t *testing.T) {
	for _, p := range []string{"/", "/ui"} {
		rec := get(t, p)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/ui/" {
			t.Errorf("GET %s: %d Location %q", p, rec.Code, rec.Header().Get("Location"))
		}
	}
}

func TestServesTheApp(t *testing.T) {
	rec := get(t, "/ui/")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<script type="module" src="app.js">`) {
		t.Fatalf("GET /ui/: %d %.200s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
	}
	for path, ctype := range map[string]string{
		"/ui/app.js":               "text/javascript",
		"/ui/vendor/xterm.mjs":     "text/javascript",
		"/ui/vendor/addon-fit.mjs": "text/javascript",
		"/ui/vendor/xterm.css":     "text/css",
		"/ui/style.css":            "text/css",
		"/ui/pages/detail.js":      "text/javascript",
		"/favicon.ico":             "image/",
		"/ui/favicon.svg":          "image/svg+xml",
	} {
		rec := get(t, path)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %q, want %s", path, rec.Code, rec.Header().Get("Content-Type"), ctype)
		}
	}
}

// TestNoInlineScriptsOrStyles keeps the page within its CSP: no inline
// scripts, event handler attributes or style attributes in index.html.
func TestNoInlineScriptsOrStyles(t *testing.T) {
	page := get(t, "/ui/").Body.String()
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload="} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
}

func TestMissingFileIsAProblem(t *testing.T) {
	for _, p := range []string{"/ui/nope.js", "/ui/vendor/", "/ui/../web.go", "/elsewhere"} {
		rec := get(t, p)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: %d %q", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
