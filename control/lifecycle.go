package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// StopSandbox asks the runner to stop a running sandbox: it becomes stopping,
// then stopped when the runner reports. Any other status is ECONFLICT.
func (s *Service) StopSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	return s.transition(ctx, caller, ref, codepod.JobStop)
}

// StartSandbox asks the runner to start a stopped sandbox (or one in error
// that has a runner): it becomes starting, then running.
func (s *Service) StartSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	return s.transition(ctx, caller, ref, codepod.JobStart)
}

func (s *Service) transition(ctx context.Context, caller *codepod.User, ref string, kind codepod.JobKind) (*codepod.Sandbox, error) {
	var sb *codepod.Sandbox
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		cur, err := resolve(ctx, tx, caller, ref)
		if err != nil {
			return err
		}
		next, err := nextStatus(cur, kind)
		if err != nil {
			return err
		}
		reason := ""
		if sb, err = tx.UpdateSandbox(ctx, cur.ID, codepod.SandboxUpdate{Status: &next, Reason: &reason}); err != nil {
			return err
		}
		return s.enqueueSandboxJob(ctx, tx, out, kind, sb)
	})
	if err != nil {
		return nil, wrapUnlessDomain(err, "%s sandbox %s", kind, ref)
	}
	s.log.Info("sandbox "+string(sb.Status), keySandbox, sb.ID, keyRunner, sb.RunnerID)
	return sb, nil
}

// nextStatus is where kind takes sb, or an ECONFLICT that says what to do.
func nextStatus(sb *codepod.Sandbox, kind codepod.JobKind) (codepod.SandboxStatus, error) {
	st := sb.Status
	switch {
	case kind == codepod.JobStop && st == codepod.SandboxRunning:
		return codepod.SandboxStopping, nil
	case kind == codepod.JobStart && (st == codepod.SandboxStopped || (st == codepod.SandboxError && sb.RunnerID != "")):
		return codepod.SandboxStarting, nil
	}
	return "", codepod.Errorf(codepod.ECONFLICT, "%s", conflictMessage(sb, kind))
}

func conflictMessage(sb *codepod.Sandbox, kind codepod.JobKind) string {
	n, st := sb.Name, sb.Status
	switch {
	case kind == codepod.JobStop && (st == codepod.SandboxStopped || st == codepod.SandboxStopping),
		kind == codepod.JobStart && (st == codepod.SandboxRunning || st == codepod.SandboxStarting):
		return fmt.Sprintf("sandbox %s is %s already", n, st)
	case st == codepod.SandboxStopping:
		return fmt.Sprintf("sandbox %s is stopping; start it once it is stopped", n)
	case kind == codepod.JobStart && (st == codepod.SandboxPending || st == codepod.SandboxCreating):
		return fmt.Sprintf("sandbox %s is %s; it starts by itself once it is created", n, st)
	case st == codepod.SandboxPending || st == codepod.SandboxCreating || st == codepod.SandboxStarting:
		return fmt.Sprintf("sandbox %s is %s; stop it once it is running", n, st)
	case st == codepod.SandboxLost:
		return fmt.Sprintf("sandbox %s is lost (%s); wait until its runner is back, or delete it", n, sb.Reason)
	case st == codepod.SandboxError && kind == codepod.JobStop:
		return fmt.Sprintf("sandbox %s is in error (%s); start it or delete it", n, sb.Reason)
	case st == codepod.SandboxError:
		return fmt.Sprintf("sandbox %s failed before it was placed (%s); delete it and create a new one", n, sb.Reason)
	case st == codepod.SandboxDeleting:
		return fmt.Sprintf("sandbox %s is being deleted", n)
	}
	return fmt.Sprintf("sandbox %s is %s; it cannot %s now", n, st, kind)
}

// DeleteSandbox deletes a sandbox in any live status. A placed sandbox
// becomes deleting (its other unfinished jobs are cancelled) until its
// runner removes the container; one that was never placed is deleted at
// once. Deleting a deleted sandbox is ENOTFOUND; its name is free again.
func (s *Service) DeleteSandbox(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	var sb *codepod.Sandbox
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		cur, err := resolve(ctx, tx, caller, ref)
		if err != nil {
			return err
		}
		sb, err = s.deleteInTx(ctx, tx, out, cur)
		return err
	})
	if err != nil {
		return nil, wrapUnlessDomain(err, "delete sandbox %s", ref)
	}
	s.log.Info("sandbox "+string(sb.Status), keySandbox, sb.ID, keyRunner, sb.RunnerID)
	return sb, nil
}

// deleteInTx moves sb towards deleted.
func (s *Service) deleteInTx(ctx context.Context, tx codepod.Store, out *outbox, sb *codepod.Sandbox) (*codepod.Sandbox, error) {
	if sb.Status == codepod.SandboxDeleting {
		return sb, nil // its delete job is on its way
	}
	next, reason := codepod.SandboxDeleted, ""
	if sb.RunnerID != "" {
		if err := tx.CancelJobs(ctx, sb.ID, "sandbox deleted"); err != nil {
			return nil, fmt.Errorf("cancel jobs: %w", err)
		}
		next = codepod.SandboxDeleting
	}
	upd, err := tx.UpdateSandbox(ctx, sb.ID, codepod.SandboxUpdate{Status: &next, Reason: &reason})
	if err != nil || next == codepod.SandboxDeleted {
		return upd, err
	}
	return upd, s.enqueueSandboxJob(ctx, tx, out, codepod.JobDelete, upd)
}

// wrapUnlessDomain adds context to internal errors and leaves domain errors,
// whose message is for the user, as they are.
func wrapUnlessDomain(err error, format string, args ...any) error {
	if codepod.ErrorCode(err) != codepod.EINTERNAL {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
