package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// reapBatch is how many expired sandboxes one tick deletes at most.
const reapBatch = 100

// reapExpired deletes sandboxes whose TTL ran out, the way DeleteSandbox
// does, as the system. The deadline is in the database, so it holds across
// restarts and replicas.
func (s *Service) reapExpired(ctx context.Context) error {
	expired, err := s.st.ExpiredSandboxes(ctx, s.now(), reapBatch)
	if err != nil {
		return fmt.Errorf("list expired sandboxes: %w", err)
	}
	for _, sb := range expired {
		if err := s.reap(ctx, sb.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) reap(ctx context.Context, id string) error {
	var sb *codepod.Sandbox
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		cur, err := tx.Sandbox(ctx, id)
		if err != nil || cur.Status == codepod.SandboxDeleted || cur.ExpiresAt == nil || cur.ExpiresAt.After(s.now()) {
			return err
		}
		sb, err = s.deleteInTx(ctx, tx, out, cur)
		return err
	})
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete expired sandbox %s: %w", id, err)
	}
	if sb != nil {
		s.log.Info("sandbox expired", keySandbox, id, "owner", sb.OwnerID, keyStatus, sb.Status)
	}
	return nil
}
