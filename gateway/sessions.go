package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/codepod-dev/codepod"
)

// Kinds of session that Sessions counts (they have separate quotas).
const (
	SessionExec   = "exec"   // a REST or streaming exec
	SessionTunnel = "tunnel" // an SSH tunnel or a browser terminal
)

// DefaultRecheck is how often Sessions re-validates the principals of open
// sessions by default.
const DefaultRecheck = 2 * time.Second

// Principal is who opened a session: a user, through one API key.
type Principal struct {
	UserID string
	KeyID  string
}

// SessionsConfig configures Sessions. Check is required.
type SessionsConfig struct {
	// Check reports whether p may still hold sessions: an EUNAUTHORIZED
	// error (a deleted key, a disabled or deleted user) ends p's sessions
	// with that error as cause; any other error is logged and changes
	// nothing (a database hiccup must not cut every terminal).
	Check func(ctx context.Context, p Principal) error
	// Recheck is how often each principal with open sessions is checked
	// (default DefaultRecheck). It bounds how long a revocation made on
	// another replica takes to end this replica's sessions.
	Recheck time.Duration
	Logger  *slog.Logger
}

// Sessions tracks the long-lived sessions (execs, tunnels, terminals) this
// server replica holds, by principal, so that revoking a key or disabling a
// user ends them: at once on the replica that revoked (RevokeKey,
// RevokeUser), and within Recheck on every other replica, through a loop
// that runs while any session is open (and so needs no Close).
type Sessions struct {
	cfg  SessionsConfig
	mu   sync.Mutex
	open map[*session]struct{}
	stop chan struct{} // closes when the last session ends; nil: no loop runs
}

type session struct {
	p      Principal
	kind   string
	cancel context.CancelCauseFunc
}

// NewSessions returns an empty registry.
func NewSessions(cfg SessionsConfig) *Sessions {
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sessions{cfg: cfg, open: map[*session]struct{}{}}
}

// Open registers a session of kind for p and returns a context that ends
// when ctx does or when p is revoked (context.Cause then tells why), and a
// release func the caller must call when the session ends. When p's user
// already holds limit sessions of kind (limit > 0), Open refuses with an
// EFORBIDDEN error naming the quota.
func (r *Sessions) Open(ctx context.Context, p Principal, kind string, limit int) (context.Context, func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if limit > 0 {
		q := codepod.Quota{Execs: limit, Tunnels: limit}
		if err := q.CheckSession(kind, r.countLocked(p.UserID, kind)); err != nil {
			return nil, nil, err
		}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &session{p: p, kind: kind, cancel: cancel}
	r.open[s] = struct{}{}
	if r.stop == nil {
		r.stop = make(chan struct{})
		go r.loop(r.stop)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			r.mu.Lock()
			r.removeLocked(s)
			r.mu.Unlock()
			cancel(context.Canceled)
		})
	}
	return sctx, release, nil
}

// removeLocked forgets s and stops the loop after the last session.
func (r *Sessions) removeLocked(s *session) {
	delete(r.open, s)
	if len(r.open) == 0 && r.stop != nil {
		close(r.stop)
		r.stop = nil
	}
}

// Count returns how many sessions of kind userID holds on this replica.
func (r *Sessions) Count(userID, kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.countLocked(userID, kind)
}

func (r *Sessions) countLocked(userID, kind string) int {
	n := 0
	for s := range r.open {
		if s.p.UserID == userID && s.kind == kind {
			n++
		}
	}
	return n
}

// RevokeUser ends every session of userID with cause and returns how many.
func (r *Sessions) RevokeUser(userID string, cause error) int {
	return r.revoke(func(p Principal) bool { return p.UserID == userID }, cause)
}

// RevokeKey ends every session opened with keyID and returns how many.
func (r *Sessions) RevokeKey(keyID string, cause error) int {
	return r.revoke(func(p Principal) bool { return p.KeyID == keyID }, cause)
}

func (r *Sessions) revoke(match func(Principal) bool, cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for s := range r.open {
		if match(s.p) {
			s.cancel(cause)
			r.removeLocked(s)
			n++
		}
	}
	return n
}

// loop re-validates the principals of open sessions every Recheck until
// stop closes.
func (r *Sessions) loop(stop chan struct{}) {
	t := time.NewTicker(r.cfg.Recheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Recheck)
			r.recheck(ctx)
			cancel()
		}
	}
}

// recheck checks each distinct principal once.
func (r *Sessions) recheck(ctx context.Context) {
	r.mu.Lock()
	principals := map[Principal]struct{}{}
	for s := range r.open {
		principals[s.p] = struct{}{}
	}
	r.mu.Unlock()
	for p := range principals {
		err := r.cfg.Check(ctx, p)
		switch codepod.ErrorCode(err) {
		case "":
		case codepod.EUNAUTHORIZED:
			n := r.revoke(func(q Principal) bool { return q == p }, err)
			r.cfg.Logger.Info("sessions of a revoked principal ended", "user_id", p.UserID, "key_id", p.KeyID, "sessions", n)
		default:
			r.cfg.Logger.Warn("recheck session principal", "user_id", p.UserID, "key_id", p.KeyID, "err", err)
		}
	}
}
