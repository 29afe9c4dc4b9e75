package api

import (
	"context"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// newSessions makes the registry of this replica's long sessions (execs,
// tunnels, terminals), which revocation ends.
func (s *Server) newSessions() {
	s.sessions = gateway.NewSessions(gateway.SessionsConfig{
		Check: s.checkPrincipal, Recheck: s.cfg.SessionRecheck, Logger: s.log,
	})
}

// checkPrincipal reports whether p's key and user still work: the
// registry's periodic recheck, which ends sessions revoked on another
// replica.
func (s *Server) checkPrincipal(ctx context.Context, p gateway.Principal) error {
	_, _, err := s.keyAndUser(ctx, p.KeyID, "")
	return err
}

// openSession registers a session of kind for the caller, within the
// caller's quota of concurrent sessions of that kind. The context it
// returns ends when the caller's key is revoked or user disabled; release
// must be called when the session ends.
func (s *Server) openSession(ctx context.Context, kind string) (context.Context, func(), error) {
	u := caller(ctx)
	q := s.ctl.Quota(u)
	limit := q.Tunnels
	if kind == gateway.SessionExec {
		limit = q.Execs
	}
	return s.sessions.Open(ctx, gateway.Principal{UserID: u.ID, KeyID: callerKeyID(ctx)}, kind, limit)
}

// revocation is why a session's context ended if it was revoked (an
// EUNAUTHORIZED error to show the client), else nil.
func revocation(ctx context.Context) error {
	if cause := context.Cause(ctx); codepod.ErrorCode(cause) == codepod.EUNAUTHORIZED {
		return cause
	}
	return nil
}

// keyRevoked is the cause given to the sessions of a deleted key.
func keyRevoked() error {
	return codepod.Errorf(codepod.EUNAUTHORIZED, "the API key of this session was revoked")
}
