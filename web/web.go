// Package web is CodePod's management UI and browser terminal: plain HTML,
// CSS and ES modules (xterm.js vendored under static/vendor), embedded in
// the binary and served by the API server under /ui/.
//
// The files are public; the API calls the page makes are authenticated by
// the web session's HttpOnly cookie (api/websession.go), never by a token
// the scripts hold. web/README.md says how the UI is built and why.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is the path the UI is served under.
const Prefix = "/ui/"

// csp keeps the page to its own files. xterm.js adds <style> elements for
// its theme, hence 'unsafe-inline' for styles only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the UI: "/" redirects to /ui/, and /ui/… are the embedded
// files. Anything else, and a missing file, is a 404 problem document.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/" || r.URL.Path == "/ui":
			http.Redirect(w, r, Prefix, http.StatusFound)
			return
		case r.URL.Path == "/favicon.ico":
			r = r.Clone(r.Context())
			r.URL.Path = Prefix + "favicon.ico"
		case !strings.HasPrefix(r.URL.Path, Prefix):
			notFound(w, r)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/ui")
		name = strings.TrimPrefix(name, "/")
		if name == "" {
			name = "index.html"
		}
		if st, err := fs.Stat(sub, name); err != nil || st.IsDir() {
			notFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		h.Set("Referrer-Policy", "same-origin")
		if strings.HasSuffix(name, ".mjs") || strings.HasSuffix(name, ".js") {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		if name == "index.html" {
			r2.URL.Path = "/" // FileServer redirects /index.html to ./
		}
		files.ServeHTTP(w, r2)
	})
}

// notFound answers with an RFC 9457 problem document, like the API.
func notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusNotFound)
	json.NewEncoder(w).Encode(map[string]any{
		"type":     "https://codepod.dev/problems/not-found",
		"title":    "Not Found",
		"status":   http.StatusNotFound,
		"detail":   "no such file in the web UI: " + r.URL.Path,
		"instance": r.URL.Path,
	})
}
