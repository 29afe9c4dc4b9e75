package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// DeleteRunner forgets runner id: its credential stops working at once and
// its jobs go with it. Its sandboxes get codepod.EventRunnerDeleted, in the
// same transaction: pending ones go back to placement on another runner;
// deleting ones end deleted, their reason saying the container may remain
// on that host; the others become lost for good (no runner will report on
// them again), their reason telling the owner to delete them. An operator
// who wants the containers gone deletes the sandboxes first, while the
// runner still runs. A missing runner is ENOTFOUND.
func (s *Service) DeleteRunner(ctx context.Context, id string) error {
	var name string
	n := 0
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		r, err := tx.LockRunner(ctx, id) // placements on it wait, then find it gone
		if err != nil {
			return err
		}
		name = r.Name
		list, err := sandboxesOn(ctx, tx, id, nil)
		if err != nil {
			return err
		}
		ev := codepod.Event{Kind: codepod.EventRunnerDeleted, RunnerID: r.ID, RunnerName: r.Name}
		for _, sb := range list {
			if _, _, err := s.apply(ctx, tx, out, sb.ID, always(ev)); err != nil {
				return fmt.Errorf("sandbox %s: %w", sb.ID, err)
			}
			n++
		}
		return tx.DeleteRunner(ctx, id)
	})
	if err != nil {
		return wrapUnlessDomain(err, "delete runner %s", id)
	}
	s.invalidatePlacement()
	s.log.Warn("runner deleted", keyRunner, id, "name", name, "sandboxes", n)
	return nil
}

// SetRunnerWorkspaces dedicates runner id to workspaces (ids; none: every
// workspace) and makes placement read the runners again.
func (s *Service) SetRunnerWorkspaces(ctx context.Context, id string, workspaces []string) error {
	if err := s.st.SetRunnerWorkspaces(ctx, id, workspaces); err != nil {
		return err
	}
	s.invalidatePlacement()
	return nil
}
