package runner

import (
	"context"
	"fmt"
	"sort"

	"github.com/codepod-dev/codepod/wire"
)

// Inventory lists every container labelled with this runner's id, running
// or stopped, as the reconcile heartbeat reports it.
func (r *Runner) Inventory(ctx context.Context) ([]wire.SandboxState, error) {
	if r.ID() == "" {
		return nil, fmt.Errorf("list sandboxes: the runner is not registered yet")
	}
	list, err := r.cfg.Backend.ListSandboxes(ctx, r.ID())
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	out := make([]wire.SandboxState, 0, len(list))
	for _, c := range list {
		s := wire.SandboxState{ID: c.SandboxID, State: wire.StateStopped}
		if c.Running {
			s.State = wire.StateRunning
		}
		if validSandboxID(c.SandboxID) == nil {
			s.HostKeyFingerprint, _ = r.fingerprint(c.SandboxID)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
