package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// access says who may call an operation; the auth middleware enforces it.
type access int

const (
	public       access = iota // no credential
	userOnly                   // any user's API key
	adminOnly                  // an admin's API key
	runnerOnly                 // a runner's credential
	registration               // a runner registration token
)

// metaAdmin marks operations the auth middleware keeps to admins.
const metaAdmin = "codepod-admin"

// operation returns a Huma operation with the project's conventions: the
// path under Prefix, a kebab-case id, one tag, the security its access
// needs, the body limit, and the error statuses it may answer with.
func (s *Server) operation(acc access, method, path, id, tag, summary string, errs ...int) huma.Operation {
	op := huma.Operation{
		OperationID:  id,
		Method:       method,
		Path:         Prefix + path,
		Summary:      summary,
		Tags:         []string{tag},
		MaxBodyBytes: s.cfg.MaxBodyBytes,
		Errors:       errs,
	}
	if method == http.MethodPost {
		op.Errors = append(op.Errors, http.StatusRequestEntityTooLarge)
	}
	scheme := map[access]string{userOnly: schemeAPIKey, adminOnly: schemeAPIKey, runnerOnly: schemeRunner, registration: schemeRegistration}[acc]
	if scheme != "" {
		op.Security = []map[string][]string{{scheme: {}}}
		op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusTooManyRequests) // 429: too many failed authentications
	}
	if acc == adminOnly {
		op.Metadata = map[string]any{metaAdmin: true}
		op.Description = "Requires an admin."
		op.Errors = append(op.Errors, http.StatusForbidden)
	}
	return op
}

// register registers h for op; h's errors become problem documents.
func register[I, O any](api huma.API, s *Server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})
}

// describe sets an operation's description, keeping the admin note.
func describe(op huma.Operation, text string) huma.Operation {
	if op.Description != "" {
		text += "\n\n" + op.Description
	}
	op.Description = text
	return op
}
