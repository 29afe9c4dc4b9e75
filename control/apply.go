package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// maxApplyAttempts is how often an event is re-read and applied again when
// a concurrent change moved the sandbox's version under it.
const maxApplyAttempts = 8

// eventFor builds the event to apply to the sandbox as it is now; it may
// read (and lock) other rows through tx. ok false: nothing to apply.
type eventFor func(sb *codepod.Sandbox) (ev codepod.Event, ok bool, err error)

// apply applies an event to sandbox id inside tx: read → codepod.Transition
// → one conditional write (UpdateSandbox with the version read, the jobs
// enqueued in the same write). When the version moved meanwhile (another
// replica or goroutine committed first), it reads again and retries; on
// PostgreSQL's READ COMMITTED a re-read inside the transaction sees the
// committed change, and on SQLite the transaction is the single writer.
// It returns the sandbox as it is after the event, and whether it changed.
func (s *Service) apply(ctx context.Context, tx codepod.Store, out *outbox, id string, mk eventFor) (*codepod.Sandbox, bool, error) {
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		sb, err := tx.Sandbox(ctx, id)
		if err != nil {
			return nil, false, err
		}
		ev, ok, err := mk(sb)
		if err != nil || !ok {
			return sb, false, err
		}
		if ev.Now.IsZero() {
			ev.Now = s.now()
		}
		c, err := codepod.Transition(sb, ev)
		if err != nil || !c.Changed {
			return sb, false, err
		}
		upd, jobs, err := s.changeWrite(ctx, tx, sb, c)
		if err != nil {
			return nil, false, err
		}
		next, err := tx.UpdateSandbox(ctx, id, sb.Version, upd, jobs...)
		if errors.Is(err, codepod.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("apply %s to sandbox %s: %w", ev.Kind, id, err)
		}
		if next.Status != sb.Status {
			if err := s.sandboxEvent(ctx, tx, out, next, codepod.SandboxEventType(next.Status)); err != nil {
				return nil, false, err
			}
		}
		out.jobs = append(out.jobs, jobs...)
		out.sandboxes = append(out.sandboxes, id)
		if next.Status != sb.Status {
			s.log.Info("sandbox "+string(next.Status), keySandbox, id, keyRunner, next.RunnerID, "event", ev.Kind, "was", sb.Status)
		}
		return next, true, nil
	}
	return nil, false, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is changing right now; try again", id)
}

// applyOne applies an event to sandbox id in a transaction of its own.
func (s *Service) applyOne(ctx context.Context, id string, mk eventFor) (*codepod.Sandbox, bool, error) {
	var sb *codepod.Sandbox
	var changed bool
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		var err error
		sb, changed, err = s.apply(ctx, tx, out, id, mk)
		return err
	})
	return sb, changed, err
}

// changeWrite turns a Transition's change into the store's update and the
// jobs it enqueues on the sandbox's (new) runner.
func (s *Service) changeWrite(ctx context.Context, tx codepod.Store, sb *codepod.Sandbox, c codepod.Change) (codepod.SandboxUpdate, []*codepod.Job, error) {
	upd := codepod.SandboxUpdate{Status: &c.Status, Reason: &c.Reason, At: s.now()}
	if c.RunnerID != sb.RunnerID {
		upd.RunnerID = &c.RunnerID
	}
	if c.HostKeyFingerprint != sb.HostKeyFingerprint {
		upd.HostKeyFingerprint = &c.HostKeyFingerprint
	}
	if c.CancelJobs {
		reason := fmt.Sprintf("sandbox %s", c.Status)
		if c.Reason != "" {
			reason = c.Reason
		}
		upd.CancelJobs = &reason
	}
	next := *sb
	next.RunnerID = c.RunnerID
	jobs := make([]*codepod.Job, 0, len(c.Jobs))
	for _, kind := range c.Jobs {
		j, err := s.sandboxJob(ctx, tx, kind, &next)
		if err != nil {
			return upd, nil, err
		}
		jobs = append(jobs, j)
	}
	return upd, jobs, nil
}

// always makes an eventFor that applies ev whatever the sandbox.
func always(ev codepod.Event) eventFor {
	return func(*codepod.Sandbox) (codepod.Event, bool, error) { return ev, true, nil }
}
