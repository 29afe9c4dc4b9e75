package control

import (
	"context"
	"errors"
	"time"

	"github.com/codepod-dev/codepod"
)

// Lifetime changes how long a sandbox lives. Nil fields stay as they are.
type Lifetime struct {
	// TTL, from now: the sandbox is deleted TTL after this call (extend or
	// shorten); 0 removes the TTL where the server allows no TTL.
	TTL *time.Duration
	// IdleTimeout stops the sandbox after this long without activity; 0
	// turns the idle stop off.
	IdleTimeout *time.Duration
}

// SetLifetime applies l to the caller's sandbox ref with a conditional
// write (re-read and retried when the sandbox changed meanwhile). The TTL
// respects the server's MaxTTL; a deleting sandbox is ECONFLICT.
func (s *Service) SetLifetime(ctx context.Context, caller *codepod.User, ref string, l Lifetime) (*codepod.Sandbox, error) {
	if err := s.checkLifetime(l); err != nil {
		return nil, err
	}
	cur, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		next, err := s.setLifetime(ctx, cur.ID, l)
		if !errors.Is(err, codepod.ErrVersionConflict) {
			return next, wrapUnlessDomain(err, "set lifetime of sandbox %s", cur.ID)
		}
	}
	return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is changing right now; try again", cur.Name)
}

func (s *Service) checkLifetime(l Lifetime) error {
	if l.TTL != nil {
		spec := codepod.SandboxSpec{TTL: *l.TTL}
		if err := s.cfg.Limits.Normalize(&spec); err != nil {
			return err
		}
	}
	if l.IdleTimeout != nil {
		return codepod.ValidateIdleTimeout(*l.IdleTimeout)
	}
	return nil
}

func (s *Service) setLifetime(ctx context.Context, id string, l Lifetime) (*codepod.Sandbox, error) {
	sb, err := s.st.Sandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if sb.Status == codepod.SandboxDeleting || sb.Status == codepod.SandboxDeleted {
		return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s; its lifetime can no longer change", sb.Name, sb.Status)
	}
	now := s.now()
	spec := sb.Spec
	u := codepod.SandboxUpdate{Spec: &spec, At: now}
	if l.TTL != nil {
		spec.TTL = *l.TTL
		var exp *time.Time
		if *l.TTL > 0 {
			t := now.Add(*l.TTL)
			exp = &t
		}
		u.ExpiresAt = &exp
	}
	if l.IdleTimeout != nil {
		spec.IdleTimeout = *l.IdleTimeout
		var idle *time.Time
		if *l.IdleTimeout > 0 {
			t := now.Add(*l.IdleTimeout)
			idle = &t
		}
		u.IdleAt = &idle
	}
	next, err := s.st.UpdateSandbox(ctx, id, sb.Version, u)
	if err == nil {
		s.log.Info("sandbox lifetime set", keySandbox, id, "expires_at", next.ExpiresAt, "idle_timeout", spec.IdleTimeout)
		// The events feed (and waiters) learn of the new expiry at once.
		s.hub.Notify(sandboxKey(id))
		s.hub.Notify(sandboxesKey)
	}
	return next, err
}
