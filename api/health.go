package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Health is the body of /healthz and /readyz.
type Health struct {
	Status  string `json:"status" enum:"ok" doc:"Always ok when the server answers."`
	Version string `json:"version,omitempty" doc:"The server's build version."`
}

type healthOutput struct {
	Body Health
}

func registerHealth(api huma.API, s *Server) {
	register(api, s, huma.Operation{
		OperationID: "get-health", Method: http.MethodGet, Path: "/healthz", Tags: []string{"system"},
		Summary:     "Liveness: the process answers",
		Description: "Always 200 while the server runs; needs no credential.",
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{Body: Health{Status: "ok", Version: s.cfg.Version}}, nil
	})

	register(api, s, huma.Operation{
		OperationID: "get-readiness", Method: http.MethodGet, Path: "/readyz", Tags: []string{"system"},
		Summary:     "Readiness: the database answers",
		Description: "200 when a cheap query on the database succeeds, else a 503 problem; needs no credential.",
		Errors:      []int{http.StatusServiceUnavailable},
	}, s.ready)
}

func (s *Server) ready(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.st.CountUsers(ctx); err != nil {
		logger(ctx).Warn("readiness check failed", "err", err)
		return nil, huma.Error503ServiceUnavailable("the database does not answer; check the server's database settings and logs")
	}
	return &healthOutput{Body: Health{Status: "ok", Version: s.cfg.Version}}, nil
}
