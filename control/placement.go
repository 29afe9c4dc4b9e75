package control

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
)

// Reasons a sandbox waits in pending.
const (
	reasonNoCapacity = "waiting for a runner with free capacity"
	reasonNoRunner   = "waiting for a runner with free capacity (no runner is online)"
)

// placement is the view of the online runners that placement decides on.
type placement struct {
	loadedAt time.Time
	runners  []codepod.Runner
	usage    map[string]codepod.Usage
	dropped  int // runners found full (or gone) when claimed
}

// loadPlacement reads the online runners (status online and seen within
// RunnerTimeout) and what their sandboxes take.
func (s *Service) loadPlacement(ctx context.Context, st codepod.Store) (*placement, error) {
	all, err := allRunners(ctx, st)
	if err != nil {
		return nil, err
	}
	since := s.now().Add(-s.cfg.RunnerTimeout)
	p := &placement{loadedAt: s.now()}
	for _, r := range all {
		if r.Status == codepod.RunnerOnline && r.LastSeenAt.After(since) {
			p.runners = append(p.runners, r)
		}
	}
	if len(p.runners) == 0 {
		return p, nil
	}
	if p.usage, err = st.RunnerUsage(ctx); err != nil {
		return nil, fmt.Errorf("runner usage: %w", err)
	}
	return p, nil
}

// placementView returns the process's view of the online runners, read
// again when it is older than Config.PlacementMaxAge or marked stale (a
// runner registered, came back, changed its offer, went offline or was
// deleted), or when fresh is set and this view was not read during the
// current pass (see claimRunner). The caller holds placeMu.
//
// The view only chooses which runner to try: claimRunner locks the runner
// and counts its sandboxes again before it places anything, so a view
// that missed another replica's placements or a freed slot picks a less
// fitting runner at worst, never an overfull one.
func (s *Service) placementView(ctx context.Context, st codepod.Store, pass *placePass) (*placement, error) {
	v := s.view
	stale := v == nil || s.viewStale.Swap(false) || s.now().Sub(v.loadedAt) >= s.cfg.PlacementMaxAge
	if !stale && !(pass.wantFresh && !pass.reloaded) {
		return v, nil
	}
	v, err := s.loadPlacement(ctx, st)
	if err != nil {
		s.view = nil
		return nil, err
	}
	s.view, pass.reloaded, pass.wantFresh = v, true, false
	return v, nil
}

// placePass is one placement pass's use of the view: it reads the runners
// again at most once, when the view it had found no room.
type placePass struct {
	reloaded  bool // the view was read during this pass
	wantFresh bool // ask placementView for a view read during this pass
}

// invalidatePlacement marks the view stale: the next placement reads the
// runners again.
func (s *Service) invalidatePlacement() { s.viewStale.Store(true) }

// pick chooses the least loaded runner that carries spec's runner labels
// and has room for it, or says why none fits.
func (p *placement) pick(spec codepod.SandboxSpec) (*codepod.Runner, string) {
	var best *codepod.Runner
	var bestLoad float64
	labelled, hasRuntime, serves := false, false, false
	for i := range p.runners {
		r := &p.runners[i]
		if !r.Serves(spec.PlaceWorkspace) {
			continue
		}
		serves = true
		if !r.Matches(spec.RunnerLabels) {
			continue
		}
		labelled = true
		if !r.HasRuntime(spec.Runtime) {
			continue
		}
		hasRuntime = true
		u := p.usage[r.ID]
		if !fits(r.Capacity, u, spec) {
			continue
		}
		if l := load(r.Capacity, u); best == nil || l < bestLoad {
			best, bestLoad = r, l
		}
	}
	switch {
	case best != nil:
		return best, ""
	case len(p.runners) == 0 && p.dropped > 0:
		return nil, reasonNoCapacity
	case len(p.runners) == 0:
		return nil, reasonNoRunner
	case !serves:
		return nil, "no online runner serves workspace " + spec.PlaceWorkspace + " (runners dedicated to other workspaces; see docs/workspaces.md)"
	case !labelled:
		return nil, "no online runner has labels " + formatLabels(spec.RunnerLabels)
	case !hasRuntime:
		return nil, fmt.Sprintf("waiting for a runner with the %s runtime (no online runner has it; see docs/isolation.md)", spec.Runtime)
	}
	return nil, reasonNoCapacity
}

// took records that sb now sits on runnerID.
func (p *placement) took(runnerID string, spec codepod.SandboxSpec) {
	if p.usage == nil {
		p.usage = map[string]codepod.Usage{}
	}
	u := p.usage[runnerID]
	u.Sandboxes++
	u.MemoryBytes += spec.MemoryBytes
	p.usage[runnerID] = u
}

func fits(c codepod.Capacity, u codepod.Usage, spec codepod.SandboxSpec) bool {
	return (c.Sandboxes == 0 || u.Sandboxes < c.Sandboxes) &&
		(c.MemoryBytes == 0 || u.MemoryBytes+spec.MemoryBytes <= c.MemoryBytes)
}

// load is the fuller of a runner's two limits, as a fraction; a runner
// without limits counts its sandboxes as thousandths, so the emptier of two
// unlimited runners wins and a limited runner with room is not starved.
func load(c codepod.Capacity, u codepod.Usage) float64 {
	l := float64(u.Sandboxes) / 1000
	if c.Sandboxes > 0 {
		l = max(l, float64(u.Sandboxes)/float64(c.Sandboxes))
	}
	if c.MemoryBytes > 0 {
		l = max(l, float64(u.MemoryBytes)/float64(c.MemoryBytes))
	}
	return l
}

func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// placePending places sandboxes that wait in pending without a runner,
// oldest first. Each placement is its own transaction; a sandbox that still
// fits nowhere keeps waiting, its reason updated. When another placement
// runs in this process, it places them and this call returns at once.
func (s *Service) placePending(ctx context.Context) error {
	if !s.placeMu.TryLock() {
		return nil
	}
	defer s.placeMu.Unlock()
	waiting, err := s.unplaced(ctx)
	if err != nil || len(waiting) == 0 {
		return err
	}
	pass := &placePass{}
	for i := range waiting {
		if err := s.placeOne(ctx, pass, &waiting[i]); err != nil {
			return err
		}
	}
	return nil
}

// unplaced lists pending sandboxes that have no runner, oldest first.
func (s *Service) unplaced(ctx context.Context) ([]codepod.Sandbox, error) {
	f := codepod.SandboxFilter{Unplaced: true, IncludeDeleted: true, Page: codepod.Page{Limit: 500}}
	list, _, err := s.st.ListSandboxes(ctx, f) // oldest first
	if err != nil {
		return nil, fmt.Errorf("list pending sandboxes: %w", err)
	}
	return list, nil
}

// placeOne places sb if a runner fits, or refreshes why it waits: one
// transaction that claims the runner's capacity under its row lock and
// places the sandbox with a conditional write (codepod.EventPlace), so two
// replicas neither place it twice nor overfill the runner.
func (s *Service) placeOne(ctx context.Context, pass *placePass, sb *codepod.Sandbox) error {
	p, err := s.placementView(ctx, s.st, pass)
	if err != nil {
		return err
	}
	spec := sb.Spec
	spec.PlaceWorkspace = sb.WorkspaceID
	if r, reason := p.pick(spec); r == nil && reason == sb.Reason && pass.reloaded {
		return nil
	}
	var placed *codepod.Sandbox
	err = s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		got, changed, err := s.apply(ctx, tx, out, sb.ID, func(cur *codepod.Sandbox) (codepod.Event, bool, error) {
			if cur.Status != codepod.SandboxPending || cur.RunnerID != "" {
				return codepod.Event{}, false, nil // deleted or placed meanwhile
			}
			spec := cur.Spec
			spec.PlaceWorkspace = cur.WorkspaceID
			r, reason, err := s.claimRunner(ctx, tx, pass, spec)
			if err != nil {
				return codepod.Event{}, false, err
			}
			ev := codepod.Event{Kind: codepod.EventPlace, Message: reason}
			if r != nil {
				ev.RunnerID = r.ID
			}
			return ev, true, nil
		})
		if changed && got.RunnerID != "" {
			placed = got
		}
		return err
	})
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("place sandbox %s: %w", sb.ID, err)
	}
	if placed != nil {
		s.tookRoom(placed.RunnerID, sb.Spec)
		s.log.Info("sandbox placed", keySandbox, sb.ID, keyRunner, placed.RunnerID)
	}
	return nil
}

// claimRunner picks a runner for spec from the placement view and claims
// room on it inside tx: it locks the runner's row (LockRunner) and checks
// the room against that runner's usage read after the lock, so a placement
// by another replica that committed first is counted. A runner found full
// is dropped from the view and the next one tried. When the view has no
// room left and was not read during this pass, it is read once more (it
// may have missed a freed slot or a new runner). It returns no runner, and
// why, when none fits.
func (s *Service) claimRunner(ctx context.Context, tx codepod.Store, pass *placePass, spec codepod.SandboxSpec) (*codepod.Runner, string, error) {
	for {
		p, err := s.placementView(ctx, tx, pass)
		if err != nil {
			return nil, "", err
		}
		r, reason := p.pick(spec)
		if r == nil && !pass.reloaded {
			pass.wantFresh = true
			continue
		}
		if r == nil {
			return nil, reason, nil
		}
		locked, err := lockRoom(ctx, tx, p, r.ID, spec)
		if err != nil || locked != nil {
			return locked, "", err
		}
		p.drop(r.ID)
	}
}

// lockRoom locks runner id's row (LockRunner) and checks that spec fits
// the usage read after the lock, recording that usage in p; nil when the
// runner is full, offline or gone.
func lockRoom(ctx context.Context, tx codepod.Store, p *placement, id string, spec codepod.SandboxSpec) (*codepod.Runner, error) {
	locked, err := tx.LockRunner(ctx, id)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock runner %s: %w", id, err)
	}
	if locked.Status != codepod.RunnerOnline {
		return nil, nil
	}
	usage, err := tx.RunnerUsage(ctx, locked.ID)
	if err != nil {
		return nil, fmt.Errorf("runner usage: %w", err)
	}
	if p.usage == nil {
		p.usage = map[string]codepod.Usage{}
	}
	p.usage[locked.ID] = usage[locked.ID]
	if !fits(locked.Capacity, usage[locked.ID], spec) {
		return nil, nil
	}
	return locked, nil
}

// tookRoom records in the view that a sandbox of spec now sits on runnerID.
func (s *Service) tookRoom(runnerID string, spec codepod.SandboxSpec) {
	if s.view != nil {
		s.view.took(runnerID, spec)
	}
}

// drop takes a runner out of the candidates (full, offline or deleted).
func (p *placement) drop(id string) {
	p.runners = slices.DeleteFunc(p.runners, func(r codepod.Runner) bool { return r.ID == id })
	p.dropped++
}

// allRunners reads every runner, page by page.
func allRunners(ctx context.Context, st codepod.Store) ([]codepod.Runner, error) {
	var all []codepod.Runner
	page := codepod.Page{Limit: 500}
	for {
		list, next, err := st.ListRunners(ctx, page)
		if err != nil {
			return nil, fmt.Errorf("list runners: %w", err)
		}
		all = append(all, list...)
		if next == "" {
			return all, nil
		}
		page.Cursor = next
	}
}
