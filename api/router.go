package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/codepod-dev/codepod/web"
)

// newRouter builds the chi router: middleware, the Huma operations and the
// few plain routes (metrics, spec, docs, the web UI).
func (s *Server) newRouter() chi.Router {
	mux := chi.NewMux()
	mux.Use(s.instrument)
	mux.Use(s.previewOriginOnly)
	mux.Use(s.csrfGuard) // the web UI's cookie session (csrf.go)
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound,
			"no route for "+r.Method+" "+r.URL.Path+"; see /openapi.yaml for the API's paths")
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allowed := allowedMethods(mux, r.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeProblem(w, r, http.StatusMethodNotAllowed,
			"method "+r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allowed, ", "))
	})

	s.api = newHumaAPI(mux, s)
	mux.HandleFunc(Prefix+"/sandboxes/{id}/ports/{port}/*", s.servePreview) // preview.go
	s.spec = mustSpecDocs(s.api.OpenAPI())

	mux.Handle("/metrics", s.metricsAuth(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{Registry: s.cfg.Registry})))
	mux.Get("/openapi.yaml", s.spec.serve("application/yaml", s.spec.yaml))
	mux.Get("/openapi.json", s.spec.serve("application/json", s.spec.json))
	mux.Get("/docs", s.serveDocs)
	// The web UI: public static files (its API calls carry the user's key).
	ui := web.Handler()
	mux.Get("/", ui.ServeHTTP)
	mux.Get("/ui", ui.ServeHTTP)
	mux.Get("/favicon.ico", ui.ServeHTTP)
	mux.Get("/ui/*", ui.ServeHTTP)
	return mux
}

// allowedMethods lists the methods that have a route for path.
func allowedMethods(mux *chi.Mux, path string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if mux.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}
