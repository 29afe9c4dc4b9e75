package api

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/codepod-dev/codepod/internal/secret"
)

// reqInfo is what the middleware knows about one request. Handlers and the
// auth middleware fill in who called; the access log reads it at the end.
type reqInfo struct {
	id       string
	log      *slog.Logger
	rc       *http.ResponseController
	userID   string
	runnerID string
	remote   string // the client's address, for rate limits
	base     string // scheme://host the client called, for links (preview URLs)
	tls      bool   // the request came over TLS (the session cookie is Secure)
}

type reqInfoKey struct{}

func requestInfo(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(reqInfoKey{}).(*reqInfo)
	return ri
}

// logger returns the request's logger (with request_id), or the default.
func logger(ctx context.Context) *slog.Logger {
	if ri := requestInfo(ctx); ri != nil {
		return ri.log
	}
	return slog.Default()
}

// clearWriteDeadline lifts the server's WriteTimeout for a request that is
// held on purpose (the runner poll).
func clearWriteDeadline(ctx context.Context) {
	if ri := requestInfo(ctx); ri != nil && ri.rc != nil {
		ri.rc.SetWriteDeadline(time.Time{})
	}
}

// instrument gives every request an id (X-Request-Id in and out), a logger
// that carries it, panic recovery, an access log line and metrics.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		ri := &reqInfo{id: id, log: s.log.With("request_id", id), rc: http.NewResponseController(sw), remote: r.RemoteAddr,
			base: requestBase(r), tls: r.TLS != nil}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri))
		defer func() {
			if p := recover(); p != nil {
				s.recovered(sw, r, ri, p)
			}
			s.finish(r, sw, ri, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// recovered logs a panic and answers 500 if nothing was written yet.
func (s *Server) recovered(w *statusWriter, r *http.Request, ri *reqInfo, p any) {
	if p == http.ErrAbortHandler {
		panic(p)
	}
	ri.log.Error("panic serving request", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if !w.wrote {
		writeProblem(w, r, http.StatusInternalServerError, internalDetail)
	}
}

// finish writes the access log line and records the request's metrics.
func (s *Server) finish(r *http.Request, w *statusWriter, ri *reqInfo, d time.Duration) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	route := "unmatched"
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		route = rc.RoutePattern()
	}
	s.metrics.observe(r.Method, route, status, d)
	level := slog.LevelInfo
	if quietRoute(route, status) {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("bytes", w.bytes),
	}
	if ri.userID != "" {
		attrs = append(attrs, slog.String("user_id", ri.userID))
	}
	if ri.runnerID != "" {
		attrs = append(attrs, slog.String("runner_id", ri.runnerID))
	}
	ri.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// quietRoute reports whether a request's access log line is DEBUG: probes,
// scrapes and runner polls that went well come every few seconds and would
// bury what an operator needs at INFO (such as the admin key `up` prints).
func quietRoute(route string, status int) bool {
	switch route {
	case "/healthz", "/readyz", "/metrics":
		return true
	case Prefix + "/runners/poll":
		return status < 400
	}
	return false
}

// requestID keeps a sane incoming id and makes one otherwise.
func requestID(in string) string {
	if in != "" && len(in) <= 128 && printable(in) {
		return in
	}
	return secret.NewID("req")
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// statusWriter remembers the status and size of a response. It unwraps to
// the original writer so http.ResponseController (deadlines, hijacking for
// WebSockets, flushing) still works.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush passes a flush through (streaming responses).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over (WebSocket upgrades) and records 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && !w.wrote {
		w.status, w.wrote = http.StatusSwitchingProtocols, true
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
