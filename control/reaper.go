package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// reapBatch is how many expired sandboxes one tick deletes at most.
const reapBatch = 100

// reapExpired deletes sandboxes whose TTL ran out, the way DeleteSandbox
// does, as the system (codepod.EventExpire). The deadline is in the
// database, so it holds across restarts and replicas.
func (s *Service) reapExpired(ctx context.Context) error {
	expired, err := s.st.ExpiredSandboxes(ctx, s.now(), reapBatch)
	if err != nil {
		return fmt.Errorf("list expired sandboxes: %w", err)
	}
	for _, sb := range expired {
		got, changed, err := s.applyOne(ctx, sb.ID, always(codepod.Event{Kind: codepod.EventExpire}))
		if codepod.ErrorCode(err) == codepod.ENOTFOUND {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete expired sandbox %s: %w", sb.ID, err)
		}
		if changed {
			s.log.Info("sandbox expired", keySandbox, sb.ID, "owner", got.OwnerID, keyStatus, got.Status)
		}
	}
	return nil
}
