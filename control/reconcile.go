package control

import (
	"context"
	"fmt"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// reconcile compares r's full inventory with what the server placed on r.
// A reported container the server does not know, knows as deleted, or
// placed on another runner gets a delete job (an orphan). Every sandbox the
// server has on r gets a codepod.EventReconcile with its container's state
// (missing when not reported); codepod.Transition decides.
//
// takenAfter is a time before which the inventory was surely taken: the
// runner's previous poll, which ended before the runner listed its
// containers for this one. A sandbox changed after it (a job result that
// committed after the listing, say) is left alone — its inventory line is
// older than its state — and reconciled on a later poll.
func (s *Service) reconcile(ctx context.Context, r *codepod.Runner, inventory []wire.SandboxState, takenAfter time.Time) error {
	reported := make(map[string]wire.SandboxState, len(inventory))
	for _, st := range inventory {
		if st.State == wire.StateRunning || st.State == wire.StateStopped || st.State == wire.StateFailed {
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
		ev := codepod.Event{Kind: codepod.EventReconcile, RunnerID: r.ID, RunnerName: r.Name,
			Container: codepod.ContainerMissing, HostKeyFingerprint: st.HostKeyFingerprint, Now: takenAfter}
		if ok && st.AgentVersion != "" && st.AgentVersion != sb.AgentVersion {
			if err := s.st.SetSandboxAgentVersion(ctx, sb.ID, codepod.TruncateUTF8(st.AgentVersion, 128)); err != nil {
				return fmt.Errorf("reconcile sandbox %s: %w", sb.ID, err)
			}
		}
		if ok {
			ev.Container = codepod.ContainerState(st.State)
			ev.Message = st.Reason // why a container stopped by itself, e.g. an OOM kill
		}
		if _, _, err := s.applyOne(ctx, sb.ID, always(ev)); err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
			return fmt.Errorf("reconcile sandbox %s: %w", sb.ID, err)
		}
	}
	for id := range reported {
		if err := s.deleteOrphan(ctx, r, id); err != nil {
			return err
		}
	}
	return nil
}

// ReportState applies one sandbox's state as runner r sees it now, outside
// the periodic inventory: the runner reports at once that it stopped a
// sandbox whose devcontainer hook failed (state failed), so the sandbox is
// error within a round trip rather than at the next reconcile. The same
// codepod.Transition rules as the inventory decide; a sandbox that is not
// r's is not found.
func (s *Service) ReportState(ctx context.Context, r *codepod.Runner, st wire.SandboxState) error {
	switch st.State {
	case wire.StateRunning, wire.StateStopped, wire.StateFailed:
	default:
		return codepod.Errorf(codepod.EINVALID, "state %q cannot be reported alone; want running, stopped or failed", st.State)
	}
	_, _, err := s.applyOne(ctx, st.ID, func(sb *codepod.Sandbox) (codepod.Event, bool, error) {
		if sb.RunnerID != r.ID {
			return codepod.Event{}, false, codepod.Errorf(codepod.ENOTFOUND, "sandbox %s is not on this runner", st.ID)
		}
		return codepod.Event{Kind: codepod.EventReconcile, RunnerID: r.ID, RunnerName: r.Name,
			Container: codepod.ContainerState(st.State), Message: st.Reason, HostKeyFingerprint: st.HostKeyFingerprint}, true, nil
	})
	return err
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
