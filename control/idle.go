package control

import (
	"context"
	"fmt"
	"time"

	"github.com/codepod-dev/codepod"
)

// idleBatch is how many idle sandboxes one tick looks at most.
const idleBatch = 50

// IdleProbe reports whether a running sandbox is busy although nobody used
// it for its idle timeout: processes run in it beside its agent (a job,
// `sleep 120`, a server). An error counts as busy: a sandbox is never
// stopped on a guess.
type IdleProbe func(ctx context.Context, sb *codepod.Sandbox) (busy bool, err error)

// Touch records activity on sb (a session, preview traffic): it is not
// idle until its idle timeout passes again. Sandboxes without one are left
// alone.
func (s *Service) Touch(ctx context.Context, sb *codepod.Sandbox) error {
	if sb.Spec.IdleTimeout <= 0 {
		return nil
	}
	return s.st.TouchSandbox(ctx, sb.ID, s.now().Add(sb.Spec.IdleTimeout))
}

// reapIdle stops running sandboxes whose idle timeout passed with no
// activity, after asking the probe whether something still runs in them.
// A sandbox started (or changed) less than its idle timeout ago is given
// its full timeout first.
func (s *Service) reapIdle(ctx context.Context) error {
	now := s.now()
	idle, err := s.st.IdleSandboxes(ctx, now, idleBatch)
	if err != nil {
		return fmt.Errorf("list idle sandboxes: %w", err)
	}
	for i := range idle {
		sb := &idle[i]
		if err := s.stopIfIdle(ctx, sb, now); err != nil {
			s.log.Warn("idle stop", keySandbox, sb.ID, keyErr, err)
		}
	}
	return nil
}

func (s *Service) stopIfIdle(ctx context.Context, sb *codepod.Sandbox, now time.Time) error {
	if d := sb.UpdatedAt.Add(sb.Spec.IdleTimeout); d.After(now) {
		return s.st.TouchSandbox(ctx, sb.ID, d)
	}
	if probe := s.idleProbe(); probe != nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		busy, err := probe(pctx, sb)
		cancel()
		if err != nil || busy {
			if err != nil {
				s.log.Debug("idle probe failed; keeping the sandbox", keySandbox, sb.ID, keyErr, err)
			}
			return s.Touch(ctx, sb)
		}
	}
	got, changed, err := s.applyOne(ctx, sb.ID, func(cur *codepod.Sandbox) (codepod.Event, bool, error) {
		// Activity since the list, or a new timeout: not idle any more.
		ok := cur.Status == codepod.SandboxRunning && cur.IdleAt != nil && cur.IdleAt.Before(s.now())
		return codepod.Event{Kind: codepod.EventStop}, ok, nil
	})
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if changed {
		s.log.Info("sandbox stopped: idle", keySandbox, sb.ID, "idle_timeout", sb.Spec.IdleTimeout, keyStatus, got.Status)
	}
	return nil
}

// SetIdleProbe sets the probe reapIdle asks (the API server, which reaches
// agents, sets it after the Service was made); it replaces Config.IdleProbe.
func (s *Service) SetIdleProbe(p IdleProbe) { s.probe.Store(&p) }

func (s *Service) idleProbe() IdleProbe {
	if p := s.probe.Load(); p != nil {
		return *p
	}
	return s.cfg.IdleProbe
}
