package control

import (
	"context"
	"fmt"
	"slices"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// Warm pools on the server: each poll replaces the runner's reported pools
// (SetWarmPools); a create whose spec a pool can serve is placed first
// among the runners with a ready match (claimWarm), and counts one as
// taken in its own transaction (TakeWarm, conditional), so the next create
// does not count on the same sandbox. The runner decides the adoption
// itself, under its own lock; a runner whose pool ran dry since its poll
// makes the sandbox cold. This step runs before, and apart from, the
// general placement (claimRunner).

// recordWarmPools stores the pools a poll reported; a poll without any
// (a runner with no pools, or an older one) leaves the table alone.
func (s *Service) recordWarmPools(ctx context.Context, runnerID string, pools []wire.WarmPool) error {
	if pools == nil {
		return nil
	}
	out := make([]codepod.WarmPool, len(pools))
	for i, p := range pools {
		out[i] = codepod.WarmPool{Image: p.Image, CPU: p.CPU, MemoryBytes: p.MemoryBytes, Network: p.Network,
			Runtime: p.Runtime, Size: p.Size, Ready: p.Ready}
	}
	if err := s.st.SetWarmPools(ctx, runnerID, out); err != nil {
		return fmt.Errorf("record warm pools of runner %s: %w", runnerID, err)
	}
	return nil
}

// claimWarm claims, inside the create's transaction, the least loaded
// runner that has a ready warm sandbox for spec and room for it (under its
// row lock, as claimRunner does), and counts that sandbox as taken; nil
// when none has.
func (s *Service) claimWarm(ctx context.Context, tx codepod.Store, pass *placePass, res *reservation, spec codepod.SandboxSpec) (*codepod.Runner, error) {
	key := codepod.WarmPoolKey(spec)
	if key == "" {
		return nil, nil
	}
	ids, err := tx.WarmRunners(ctx, key)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	v, err := s.placementView(ctx, tx, pass)
	if err != nil {
		return nil, err
	}
	// The candidates are this create's own copy; their usage is the view's
	// as it is now.
	warm := &placement{usage: map[string]codepod.Usage{}}
	s.viewMu.Lock()
	for _, r := range v.runners {
		if slices.Contains(ids, r.ID) {
			warm.runners = append(warm.runners, r)
			warm.usage[r.ID] = v.usage[r.ID]
		}
	}
	s.viewMu.Unlock()
	for {
		r, _ := warm.pick(spec)
		if r == nil {
			return nil, nil
		}
		locked, err := s.lockRoom(ctx, tx, v, r.ID, spec, false)
		if err != nil {
			return nil, err
		}
		if locked == nil {
			warm.drop(r.ID)
			continue
		}
		if _, err := tx.TakeWarm(ctx, locked.ID, key); err != nil {
			return nil, err
		}
		s.viewMu.Lock()
		v.took(locked.ID, spec, 1)
		v.setBusy(locked.ID, 1)
		s.viewMu.Unlock()
		*res = reservation{view: v, runnerID: locked.ID, spec: spec}
		return locked, nil
	}
}
