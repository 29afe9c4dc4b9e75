package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// markOffline marks runners not seen for RunnerTimeout offline and their
// sandboxes lost.
func (s *Service) markOffline(ctx context.Context) error {
	if err := s.touchPolling(ctx); err != nil {
		return err
	}
	// Marking and the runner.offline events share a transaction: the
	// conditional write that turns a runner offline emits its one event.
	var ids []string
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		var err error
		if ids, err = tx.MarkStaleRunners(ctx, s.now().Add(-s.cfg.RunnerTimeout)); err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.runnerEvent(ctx, tx, out, id, codepod.EventRunnerOffline); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark stale runners: %w", err)
	}
	if len(ids) > 0 {
		s.invalidatePlacement()
	}
	for _, id := range ids {
		if err := s.loseSandboxes(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// sweepOffline marks lost the live sandboxes of every offline runner, for a
// server that stopped between marking a runner offline and its sandboxes.
func (s *Service) sweepOffline(ctx context.Context) error {
	runners, err := allRunners(ctx, s.st)
	if err != nil {
		return err
	}
	for _, r := range runners {
		if r.Status == codepod.RunnerOffline {
			if err := s.loseSandboxes(ctx, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// loseSandboxes applies codepod.EventRunnerLost to the sandboxes of an
// offline runner: pending ones go back to placement, live ones become lost.
// It does nothing if the runner came back meanwhile.
func (s *Service) loseSandboxes(ctx context.Context, runnerID string) error {
	r, err := s.st.Runner(ctx, runnerID)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil || r.Status != codepod.RunnerOffline {
		return err
	}
	list, err := sandboxesOn(ctx, s.st, runnerID, nil)
	if err != nil {
		return err
	}
	s.log.Warn("runner went offline", keyRunner, r.ID, "name", r.Name, "last_seen", r.LastSeenAt, "sandboxes", len(list))
	ev := codepod.Event{Kind: codepod.EventRunnerLost, RunnerID: r.ID, RunnerName: r.Name}
	for _, sb := range list {
		if _, _, err := s.applyOne(ctx, sb.ID, always(ev)); err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
			return fmt.Errorf("sandbox %s of offline runner %s: %w", sb.ID, r.ID, err)
		}
	}
	return nil
}

// sandboxesOn lists the sandboxes on runnerID in any of statuses (any live
// status when statuses is empty), every page.
func sandboxesOn(ctx context.Context, st codepod.Store, runnerID string, statuses []codepod.SandboxStatus) ([]codepod.Sandbox, error) {
	f := codepod.SandboxFilter{RunnerID: runnerID, Status: statuses, Page: codepod.Page{Limit: 500}}
	var all []codepod.Sandbox
	for {
		list, next, err := st.ListSandboxes(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list sandboxes on runner %s: %w", runnerID, err)
		}
		all = append(all, list...)
		if next == "" {
			return all, nil
		}
		f.Cursor = next
	}
}
