package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// reconcile compares r's full inventory with what the server placed on r:
//
//   - a reported container the server does not know, knows as deleted, or
//     placed on another runner (deleting or not) gets a delete job: an
//     orphan. One being deleted on r has its delete job already;
//   - a sandbox the server has on r as running, stopped or lost that is not
//     reported becomes error "container disappeared from runner <name>";
//   - for a reported one that is running, stopped or lost, the runner's
//     state wins.
//
// Sandboxes with a job under way (pending, creating, starting, stopping,
// deleting) and those in error are left alone: their job decides.
func (s *Service) reconcile(ctx context.Context, r *codepod.Runner, inventory []wire.SandboxState) error {
	reported := make(map[string]wire.SandboxState, len(inventory))
	for _, st := range inventory {
		if st.State == wire.StateRunning || st.State == wire.StateStopped {
			reported[st.ID] = st
		}
	}
	mine, err := sandboxesOn(ctx, s.st, r.ID, nil)
	if err != nil {
		return err
	}
	for _, sb := range mine {
		st, ok := reported[sb.ID]
		delete(reported, sb.ID)
		if err := s.reconcileOne(ctx, r, sb.ID, st, ok); err != nil {
			return err
		}
	}
	for id := range reported {
		if err := s.deleteOrphan(ctx, r, id); err != nil {
			return err
		}
	}
	return nil
}

// reconcileOne aligns one sandbox of r with what r reported (ok: whether
// it did), re-reading it in a transaction so a concurrent change wins.
func (s *Service) reconcileOne(ctx context.Context, r *codepod.Runner, id string, st wire.SandboxState, ok bool) error {
	var from, to codepod.SandboxStatus
	err := s.st.InTx(ctx, func(tx codepod.Store) error {
		sb, err := tx.Sandbox(ctx, id)
		if err != nil || sb.RunnerID != r.ID {
			return err
		}
		upd, changed := reconcileUpdate(r, sb, st, ok)
		if !changed {
			return nil
		}
		from, to = sb.Status, *upd.Status
		_, err = tx.UpdateSandbox(ctx, id, upd)
		return err
	})
	if err != nil {
		return fmt.Errorf("reconcile sandbox %s: %w", id, err)
	}
	if from != to {
		s.log.Warn("sandbox reconciled", keySandbox, id, keyRunner, r.ID, "from", from, "to", to)
	}
	return nil
}

// reconcileUpdate is the change reconcile makes to sb, if any.
func reconcileUpdate(r *codepod.Runner, sb *codepod.Sandbox, st wire.SandboxState, ok bool) (codepod.SandboxUpdate, bool) {
	switch sb.Status {
	case codepod.SandboxRunning, codepod.SandboxStopped, codepod.SandboxLost:
	default:
		return codepod.SandboxUpdate{}, false
	}
	if !ok {
		next, reason := codepod.SandboxError, fmt.Sprintf("container disappeared from runner %s", r.Name)
		return codepod.SandboxUpdate{Status: &next, Reason: &reason}, true
	}
	next := codepod.SandboxRunning
	if st.State == wire.StateStopped {
		next = codepod.SandboxStopped
	}
	upd, reason := codepod.SandboxUpdate{Status: &next}, ""
	changed := next != sb.Status
	if sb.Reason != "" {
		upd.Reason, changed = &reason, true
	}
	if st.HostKeyFingerprint != "" && st.HostKeyFingerprint != sb.HostKeyFingerprint {
		upd.HostKeyFingerprint, changed = &st.HostKeyFingerprint, true
	}
	return upd, changed
}

// deleteOrphan enqueues a delete job on r for a container r runs but should
// not. For an id the server never knew, the payload carries only the id.
func (s *Service) deleteOrphan(ctx context.Context, r *codepod.Runner, id string) error {
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		sb, err := tx.Sandbox(ctx, id)
		if codepod.ErrorCode(err) == codepod.ENOTFOUND {
			return s.enqueue(ctx, tx, out, codepod.JobDelete, r.ID, "", &wire.SandboxPayload{ID: id})
		}
		if err != nil {
			return err
		}
		if sb.RunnerID == r.ID && sb.Status != codepod.SandboxDeleted && sb.Status != codepod.SandboxDeleting {
			return nil // placed here since the inventory was read
		}
		return s.enqueue(ctx, tx, out, codepod.JobDelete, r.ID, sb.ID, sandboxPayload(sb))
	})
	if err != nil {
		return fmt.Errorf("delete orphan %s on runner %s: %w", id, r.ID, err)
	}
	s.log.Warn("orphan container: delete job enqueued", keySandbox, id, keyRunner, r.ID)
	return nil
}
