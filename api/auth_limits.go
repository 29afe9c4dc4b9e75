package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod/internal/secret"
)

// refuseFailing answers 429 (and reports true) when the request's address
// or the key id in tok has failed authentication too often: such requests
// are not checked at all until the limiter refills, so guessing stops.
// Requests that authenticate take nothing from the limiter.
func (s *Server) refuseFailing(api huma.API, ctx huma.Context, tok string) bool {
	addr := clientAddress(ctx.RemoteAddr())
	keys := []struct{ key, what string }{{"addr:" + addr, "too many failed authentications from " + addr}}
	if id := credentialID(tok); id != "" {
		keys = append(keys, struct{ key, what string }{"cred:" + id, "too many failed authentications with credential " + id})
	}
	for _, k := range keys {
		if wait, blocked := s.failures.blocked(k.key); blocked {
			writeTooMany(api, ctx, wait, k.what+"; check the key you send")
			return true
		}
	}
	return false
}

// authFailed records a failed authentication against the request's
// address and the key id in tok.
func (s *Server) authFailed(ctx huma.Context, tok string) {
	s.failures.take("addr:" + clientAddress(ctx.RemoteAddr()))
	if id := credentialID(tok); id != "" {
		s.failures.take("cred:" + id)
	}
}

// credentialID is the row id a bearer secret names ("key_…", "run_…"), or
// "" for a token that has no secret's shape.
func credentialID(tok string) string {
	for _, kind := range []string{secret.APIKey, secret.RunnerCred, secret.RunnerToken} {
		if id, ok := secret.Parse(kind, tok); ok {
			return kind + "_" + id
		}
	}
	return ""
}

// writeTooMany answers a 429 problem with Retry-After outside a handler.
func writeTooMany(api huma.API, ctx huma.Context, wait time.Duration, what string) {
	secs := retryAfter(wait)
	ctx.SetHeader("Retry-After", strconv.Itoa(secs))
	huma.WriteErr(api, ctx, http.StatusTooManyRequests, fmt.Sprintf("%s; retry in %d s (Retry-After)", what, secs))
}
