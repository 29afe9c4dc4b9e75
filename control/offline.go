package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// liveOnRunner are the statuses of sandboxes that a runner going offline
// takes down with it.
var liveOnRunner = []codepod.SandboxStatus{
	codepod.SandboxRunning, codepod.SandboxStopped, codepod.SandboxCreating,
	codepod.SandboxStarting, codepod.SandboxStopping,
}

// markOffline marks runners not seen for RunnerTimeout offline and their
// sandboxes lost.
func (s *Service) markOffline(ctx context.Context) error {
	if err := s.touchPolling(ctx); err != nil {
		return err
	}
	ids, err := s.st.MarkStaleRunners(ctx, s.now().Add(-s.cfg.RunnerTimeout))
	if err != nil {
		return fmt.Errorf("mark stale runners: %w", err)
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

// loseSandboxes marks the live sandboxes of an offline runner lost. It does
// nothing if the runner came back meanwhile.
func (s *Service) loseSandboxes(ctx context.Context, runnerID string) error {
	r, err := s.st.Runner(ctx, runnerID)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil || r.Status != codepod.RunnerOffline {
		return err
	}
	list, err := sandboxesOn(ctx, s.st, runnerID, liveOnRunner)
	if err != nil {
		return err
	}
	s.log.Warn("runner went offline", keyRunner, r.ID, "name", r.Name, "last_seen", r.LastSeenAt, "sandboxes", len(list))
	if err := s.unplaceWaiting(ctx, r); err != nil {
		return err
	}
	lost, reason := codepod.SandboxLost, fmt.Sprintf("runner %s went offline", r.Name)
	for _, sb := range list {
		err := s.st.InTx(ctx, func(tx codepod.Store) error {
			cur, err := tx.Sandbox(ctx, sb.ID)
			if err != nil || cur.RunnerID != runnerID || !isAny(cur.Status, liveOnRunner) {
				return err
			}
			_, err = tx.UpdateSandbox(ctx, sb.ID, codepod.SandboxUpdate{Status: &lost, Reason: &reason})
			return err
		})
		if err != nil {
			return fmt.Errorf("mark sandbox %s lost: %w", sb.ID, err)
		}
		s.log.Warn("sandbox lost", keySandbox, sb.ID, keyRunner, runnerID, "was", sb.Status)
	}
	return nil
}

// unplaceWaiting takes the pending sandboxes of an offline runner, whose
// create job it never leased, back for placement on another runner.
func (s *Service) unplaceWaiting(ctx context.Context, r *codepod.Runner) error {
	list, err := sandboxesOn(ctx, s.st, r.ID, []codepod.SandboxStatus{codepod.SandboxPending})
	if err != nil {
		return err
	}
	none, reason := "", fmt.Sprintf("runner %s went offline; waiting for another runner", r.Name)
	for _, sb := range list {
		err := s.st.InTx(ctx, func(tx codepod.Store) error {
			cur, err := tx.Sandbox(ctx, sb.ID)
			if err != nil || cur.RunnerID != r.ID || cur.Status != codepod.SandboxPending {
				return err
			}
			if err := tx.CancelJobs(ctx, sb.ID, reason); err != nil {
				return err
			}
			_, err = tx.UpdateSandbox(ctx, sb.ID, codepod.SandboxUpdate{RunnerID: &none, Reason: &reason})
			return err
		})
		if err != nil {
			return fmt.Errorf("unplace sandbox %s: %w", sb.ID, err)
		}
		s.log.Info("sandbox unplaced", keySandbox, sb.ID, keyRunner, r.ID)
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

func isAny(st codepod.SandboxStatus, set []codepod.SandboxStatus) bool {
	for _, s := range set {
		if s == st {
			return true
		}
	}
	return false
}
