// Package api is CodePod's HTTP API server: Huma operations on a chi router,
// everything under /api/v1, plus /healthz, /readyz, /metrics, /openapi.yaml
// and /docs outside it.
//
// The package owns authentication (API keys, runner credentials,
// registration tokens), users, API keys, runner tokens, SSH keys and login,
// which it keeps directly in a codepod.Store. Sandboxes, runners' jobs and
// the runner protocol are delegated to package control.
//
// Errors leave the server once, here, as RFC 9457 problem documents: domain
// error codes are mapped to statuses in one place (errors.go) and internal
// errors are logged with the request id and answered with "internal error".
package api

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/control"
	"github.com/codepod-dev/codepod/gateway"
)

// DefaultMaxBodyBytes is the default limit of a JSON request body.
const DefaultMaxBodyBytes = 1 << 20

// Prefix is the path every REST operation lives under.
const Prefix = "/api/v1"

// Config is what New needs. Store and Control are required to serve
// requests; Logger, MaxBodyBytes and Registry have defaults.
type Config struct {
	Store   codepod.Store
	Control *control.Service
	Logger  *slog.Logger // nil: slog.Default()
	// Version is the server's build version, reported by /healthz.
	Version string
	// MaxBodyBytes limits JSON request bodies (default 1 MiB); a larger body
	// gets a 413 problem.
	MaxBodyBytes int64
	// Registry receives the HTTP metrics and is served on /metrics; nil
	// makes a new one. Give the same registry to control so its collectors
	// show up too.
	Registry *prometheus.Registry
	// MetricsToken, when set, guards /metrics: a scrape must send
	// `Authorization: Bearer <MetricsToken>`. Empty: /metrics is open.
	MetricsToken string
	// DataDir is the server's data directory (where Bootstrap writes the
	// admin key). Uploaded blobs (build contexts, workspaces) are kept in
	// its blobs/ folder; without it, uploads are refused.
	DataDir string
	// MaxBlobBytes bounds one upload (default DefaultMaxBlobBytes);
	// BlobGrace is how long an unreferenced one is kept (default
	// DefaultBlobGrace).
	MaxBlobBytes int64
	BlobGrace    time.Duration
	// TunnelWait is how long a tunnel (a client's, or one of the server's
	// own SSH connections) waits for the runner to dial back; default 10s.
	TunnelWait time.Duration
	// Limits bound the server's memory and clients' failed
	// authentications; zero fields take their defaults.
	Limits Limits
	// SessionRecheck is how often open execs, tunnels and terminals
	// re-validate their key and user, which ends them within that time
	// when another replica revokes them (default 2s).
	SessionRecheck time.Duration
	// PreviewBaseURL, when set, is a separate origin (scheme://host[:port])
	// that reaches this server and serves only the preview proxy: preview
	// links name it, and pages served from sandboxes cannot reach the web
	// UI's or the API's origin. Empty: links use the origin the caller used.
	PreviewBaseURL string
}

// Server is the HTTP API. Make it with New, serve Handler(), and Close it
// after the HTTP server has shut down (it pools SSH connections to agents).
//
// When it runs behind an http.Server, set WriteTimeout to 0 or above the
// longest poll (60s): the runner poll clears its own deadlines, but other
// handlers rely on the server's.
type Server struct {
	cfg     Config
	st      codepod.Store
	ctl     *control.Service
	log     *slog.Logger
	api     huma.API
	router  chi.Router
	metrics *httpMetrics
	now     func() time.Time
	spec    specDocs
	broker  *gateway.Broker // pairs clients' tunnels with runners' dial-backs
	pool    *gateway.Pool   // one SSH connection per sandbox, for exec and files
	guards                  // limits on memory and on failed authentications (limits.go)
	// sessions are the open execs, tunnels and terminals, by principal.
	sessions *gateway.Sessions
	preview  *httputil.ReverseProxy // the preview proxy (preview.go)
	touchState
}

// New builds the server and registers every route.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBlobBytes <= 0 {
		cfg.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if cfg.BlobGrace <= 0 {
		cfg.BlobGrace = DefaultBlobGrace
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.TunnelWait <= 0 {
		cfg.TunnelWait = DefaultTunnelWait
	}
	s := &Server{
		cfg: cfg, st: cfg.Store, ctl: cfg.Control, log: cfg.Logger,
		now: time.Now,
	}
	s.guards = newGuards(cfg.Limits)
	s.metrics = newHTTPMetrics(cfg.Registry)
	s.newGateway()
	s.newSessions()
	s.preview = s.newPreviewProxy()
	s.touched = map[string]time.Time{}
	if s.ctl != nil {
		s.ctl.SetIdleProbe(s.idleProbe)
		s.ctl.SetWarmReady(s.pool.Prepare)
	}
	s.router = s.newRouter()
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }
