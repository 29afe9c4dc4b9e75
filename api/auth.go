package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
)

// touchEvery is how often at most a key's last_used_at is written.
const touchEvery = time.Minute

type (
	callerKey    struct{}
	callerKeyKey struct{}
	runnerKey    struct{}
	regTokenKey  struct{}
	// keyWorkspaceKey: the workspace the caller's key is bound to ("": none).
	keyWorkspaceKey struct{}
)

// keyWorkspace is the workspace the caller's API key is bound to, "" for
// a sign-in key.
func keyWorkspace(ctx context.Context) string {
	w, _ := ctx.Value(keyWorkspaceKey{}).(string)
	return w
}

// callerKeyID is the id of the API key the caller authenticated with.
func callerKeyID(ctx context.Context) string {
	id, _ := ctx.Value(callerKeyKey{}).(string)
	return id
}

// caller is the authenticated user of an apiKey operation.
func caller(ctx context.Context) *codepod.User {
	u, _ := ctx.Value(callerKey{}).(*codepod.User)
	return u
}

// callerRunner is the authenticated runner of a runner operation.
func callerRunner(ctx context.Context) *codepod.Runner {
	r, _ := ctx.Value(runnerKey{}).(*codepod.Runner)
	return r
}

// registrationToken is the bearer token of a registration operation.
func registrationToken(ctx context.Context) string {
	t, _ := ctx.Value(regTokenKey{}).(string)
	return t
}

// authMiddleware enforces the security an operation declares: Huma only
// documents it. Missing or bad credentials get 401 with a Bearer
// challenge; admin operations get 403 for other users.
func (s *Server) authMiddleware(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		if len(op.Security) == 0 {
			next(ctx)
			return
		}
		tok, ok := bearer(ctx.Header("Authorization"))
		if !ok && op.Metadata[metaQueryToken] == true {
			tok = ctx.Query("access_token")
			ok = tok != ""
		}
		if !ok && schemeOf(op) == schemeAPIKey {
			tok, ok = sessionToken(ctx) // the web UI's cookie; csrfGuard checked the request
		}
		if !ok {
			huma.WriteErr(api, ctx, http.StatusUnauthorized, missingCredential(op))
			return
		}
		if s.refuseFailing(api, ctx, tok) {
			return
		}
		if isSSHToken(tok) && op.Metadata[metaSSHToken] == true {
			c, err := s.authenticateSSHToken(ctx.Context(), tok, ctx.Param("id"))
			if err != nil {
				status := s.authStatus(ctx.Context(), err)
				huma.WriteErr(api, ctx, status, authMessage(status, err))
				return
			}
			next(huma.WithContext(ctx, c))
			return
		}
		c, status, msg := s.authenticate(ctx.Context(), op, tok, askedWorkspace(ctx, op))
		if status == http.StatusInternalServerError {
			msg = internalDetail // authStatus logged the cause
		}
		if status == http.StatusUnauthorized {
			s.authFailed(ctx, tok)
		}
		if status != 0 {
			huma.WriteErr(api, ctx, status, msg)
			return
		}
		next(huma.WithContext(ctx, c))
	}
}

// askedWorkspace is the workspace a request names: the Codepod-Workspace
// header or, when it is absent, on a GET only, the workspace query
// parameter — browsers cannot set headers on a WebSocket, an EventSource or
// a download link. An operation with a workspace query parameter of its
// own (the audit log's filter) keeps it. Both resolve alike (inWorkspace):
// a workspace the caller is not in is a 404.
func askedWorkspace(ctx huma.Context, op *huma.Operation) string {
	if w := ctx.Header(WorkspaceHeader); w != "" || op.Method != http.MethodGet {
		return w
	}
	for _, p := range op.Parameters {
		if p.In == "query" && p.Name == "workspace" {
			return ""
		}
	}
	return ctx.Query("workspace")
}

// authenticate checks tok against the operation's scheme and returns the
// request context carrying who called, or a status and message to refuse.
func (s *Server) authenticate(ctx context.Context, op *huma.Operation, tok, workspace string) (context.Context, int, string) {
	ri := requestInfo(ctx)
	switch schemeOf(op) {
	case schemeAPIKey:
		u, k, err := s.userForKey(ctx, tok)
		if err != nil {
			return nil, s.authStatus(ctx, err), codepod.ErrorMessage(err)
		}
		if op.Metadata[metaAdmin] == true && !u.Admin {
			return nil, http.StatusForbidden, op.OperationID + " requires an admin; ask an admin to do it or to make you one"
		}
		if u, err = s.inWorkspace(ctx, u, k, workspace); err != nil {
			return nil, s.authStatus(ctx, err), authMessage(s.authStatus(ctx, err), err)
		}
		if status, msg := writeGate(op, u); status != 0 {
			return nil, status, msg
		}
		if ri != nil {
			ri.userID = u.ID
		}
		ctx = context.WithValue(ctx, keyWorkspaceKey{}, k.WorkspaceID)
		return context.WithValue(context.WithValue(ctx, callerKey{}, u), callerKeyKey{}, k.ID), 0, ""
	case schemeRunner:
		r, err := s.ctl.AuthenticateRunner(ctx, tok)
		if err != nil {
			return nil, s.authStatus(ctx, err), codepod.ErrorMessage(err)
		}
		if ri != nil {
			ri.runnerID = r.ID
		}
		return context.WithValue(ctx, runnerKey{}, r), 0, ""
	case schemeRegistration:
		return context.WithValue(ctx, regTokenKey{}, tok), 0, ""
	}
	return nil, http.StatusInternalServerError, internalDetail
}

// authMessage is what a refused credential is told: the error's message,
// or the generic text of an internal error (authStatus logged it).
func authMessage(status int, err error) string {
	if status == http.StatusInternalServerError {
		return internalDetail
	}
	return codepod.ErrorMessage(err)
}

// authStatus maps an authentication failure: unauthorized stays 401, a
// broken store is logged and answered as the status its code maps to.
func (s *Server) authStatus(ctx context.Context, err error) int {
	code := codepod.ErrorCode(err)
	if code == codepod.EUNAUTHORIZED {
		return http.StatusUnauthorized
	}
	if st, ok := codeStatus[code]; ok {
		return st
	}
	logger(ctx).Error("authenticate", "err", err)
	return http.StatusInternalServerError
}

// userForKey resolves an API key to its user and the key's id: the key
// must exist, match its hash in constant time, and not be expired, and its
// user must be enabled. A deleted key or a disabled user is refused at once.
func (s *Server) userForKey(ctx context.Context, tok string) (*codepod.User, *codepod.APIKey, error) {
	id, ok := secret.Parse(secret.APIKey, tok)
	if !ok {
		return nil, nil, badKey()
	}
	k, u, err := s.keyAndUser(ctx, id, tok)
	if err != nil {
		return nil, nil, err
	}
	s.touch(ctx, k, s.now())
	return u, k, nil
}

// badKey is the answer to a key that does not work, whatever the reason.
func badKey() error {
	return codepod.Errorf(codepod.EUNAUTHORIZED, "the API key is invalid, expired or revoked; create a new one with `codepod api-key create` or `codepod login`")
}

// keyAndUser loads key id and its user, and refuses (EUNAUTHORIZED) a key
// that is missing, does not match tok (checked first, in constant time,
// unless tok is "": a recheck of a key that already authenticated) or is
// expired, or whose user is missing or disabled.
//
// The key and its user are read in one query, on every request: nothing is
// cached, so a deleted key or a disabled user is refused by the next request.
func (s *Server) keyAndUser(ctx context.Context, id, tok string) (*codepod.APIKey, *codepod.User, error) {
	k, u, err := s.st.APIKeyAndUser(ctx, id)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, nil, badKey()
	} else if err != nil {
		return nil, nil, err
	}
	if tok != "" && !secret.Equal(k.Hash, tok) {
		return nil, nil, badKey()
	}
	if k.ExpiresAt != nil && !s.now().Before(*k.ExpiresAt) {
		return nil, nil, badKey()
	}
	if u.Disabled() {
		return nil, nil, disabled()
	}
	return k, u, nil
}

// disabled is the answer to any credential of a disabled user.
func disabled() error {
	return codepod.Errorf(codepod.EUNAUTHORIZED, "this account is disabled; ask an admin to enable it (codepod user enable)")
}

// touch records a key's use, at most once per touchEvery.
func (s *Server) touch(ctx context.Context, k *codepod.APIKey, now time.Time) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < touchEvery {
		return
	}
	if err := s.st.TouchAPIKey(ctx, k.ID, now); err != nil {
		logger(ctx).Warn("record API key use", "key_id", k.ID, "err", err)
	}
}

func schemeOf(op *huma.Operation) string {
	for _, req := range op.Security {
		for name := range req {
			return name
		}
	}
	return ""
}

func missingCredential(op *huma.Operation) string {
	switch schemeOf(op) {
	case schemeRunner:
		return "this runner operation needs the runner's credential: Authorization: Bearer cpr_…"
	case schemeRegistration:
		return "registering a runner needs a registration token: Authorization: Bearer cpt_… (an admin makes one with `codepod runner-token create`)"
	}
	return "this operation needs an API key: send Authorization: Bearer <key> (get one with `codepod login` or `codepod api-key create`)"
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
