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
	// busy counts the creates of this process that reserved room on a
	// runner and have not committed yet: they hold (or are about to
	// hold) its row lock, so pick tries such a runner last.
	busy map[string]int
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
// current pass (see claimRunner). While another create reads the runners,
// the view it replaces serves (unless this pass asks for a fresh one), so
// concurrent creates read them once. The read runs without viewMu held:
// the caller may hold the database's only connection (SQLite in memory) or
// a transaction that others wait for.
//
// The view only chooses which runner to try: claimRunner locks the runner
// and counts its sandboxes again before it places anything, so a view
// that missed another replica's placements or a freed slot picks a less
// fitting runner at worst, never an overfull one. Its fields are read and
// written under viewMu only (see reserve, release, drop).
func (s *Service) placementView(ctx context.Context, st codepod.Store, pass *placePass) (*placement, error) {
	fresh := pass.wantFresh && !pass.reloaded
	s.viewMu.Lock()
	v := s.view
	stale := v == nil || s.now().Sub(v.loadedAt) >= s.cfg.PlacementMaxAge
	if !fresh && v != nil && (s.viewLoading || (!stale && !s.viewStale.Load())) {
		s.viewMu.Unlock()
		return v, nil
	}
	s.viewStale.Store(false) // a runner that changes during the read marks it again
	s.viewLoading = true
	s.viewMu.Unlock()

	v, err := s.loadPlacement(ctx, st)
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	s.viewLoading = false
	if err != nil {
		s.view = nil
		return nil, err
	}
	s.view = v
	pass.reloaded, pass.wantFresh = true, false
	return v, nil
}

// placePass is one placement pass's use of the view: it reads the runners
// again at most once, when the view it had found no room.
type placePass struct {
	reloaded  bool // the view was read during this pass
	wantFresh bool // ask placementView for a view read during this pass
}

// reservation is the room one placement counts as taken in a view from
// the moment it picks a runner, before its transaction commits, so that
// concurrent creates in this process spread over the runners instead of
// queueing for the least loaded one's row lock. It is given back
// (release) when the runner turns out full or the transaction fails; once
// the sandbox is committed (committed) it stays, as the sandbox's own
// usage, until the view is read again. While it is held the runner counts
// as busy, and other creates try runners that are not first.
type reservation struct {
	view     *placement
	runnerID string
	spec     codepod.SandboxSpec
}

// reserve picks a runner for spec from v and counts spec as taken on it;
// it returns a copy of the runner (v.runners changes under viewMu), or no
// runner and why none fits.
func (s *Service) reserve(v *placement, spec codepod.SandboxSpec, res *reservation) (*codepod.Runner, string) {
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	r, reason := v.pick(spec)
	if r == nil {
		return nil, reason
	}
	v.took(r.ID, spec, 1)
	v.setBusy(r.ID, 1)
	*res = reservation{view: v, runnerID: r.ID, spec: spec}
	picked := *r
	return &picked, ""
}

// release gives back res's room, if it holds any.
func (s *Service) release(res *reservation) {
	if res.view == nil {
		return
	}
	s.viewMu.Lock()
	res.view.took(res.runnerID, res.spec, -1)
	res.view.setBusy(res.runnerID, -1)
	s.viewMu.Unlock()
	*res = reservation{}
}

// committed keeps res's room as the committed sandbox's usage; the runner
// is no longer busy with it.
func (s *Service) committed(res *reservation) {
	if res.view == nil {
		return
	}
	s.viewMu.Lock()
	res.view.setBusy(res.runnerID, -1)
	s.viewMu.Unlock()
	*res = reservation{}
}

// setBusy counts a create of this process on runnerID (n = 1) or its end
// (n = -1). The caller holds viewMu.
func (p *placement) setBusy(runnerID string, n int) {
	if p.busy == nil {
		p.busy = map[string]int{}
	}
	if p.busy[runnerID] += n; p.busy[runnerID] <= 0 {
		delete(p.busy, runnerID)
	}
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
		l := load(r.Capacity, u)
		if p.busy[r.ID] > 0 {
			l += 2 // after every runner no create of this process waits on (load is at most 1 + 1/1000 per sandbox)
		}
		if best == nil || l < bestLoad {
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

// took records that a sandbox of spec now sits on runnerID (n = 1), or
// that one reserved there no longer does (n = -1). The caller holds viewMu.
func (p *placement) took(runnerID string, spec codepod.SandboxSpec, n int) {
	if p.usage == nil {
		p.usage = map[string]codepod.Usage{}
	}
	u := p.usage[runnerID]
	u.Sandboxes = max(u.Sandboxes+n, 0)
	u.MemoryBytes = max(u.MemoryBytes+int64(n)*spec.MemoryBytes, 0)
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
	s.viewMu.Lock()
	r, reason := p.pick(spec)
	s.viewMu.Unlock()
	if r == nil && reason == sb.Reason && pass.reloaded {
		return nil
	}
	var placed *codepod.Sandbox
	var res reservation
	err = s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		s.release(&res) // an attempt run again gives back what the last one took
		placed = nil
		got, changed, err := s.apply(ctx, tx, out, sb.ID, func(cur *codepod.Sandbox) (codepod.Event, bool, error) {
			if cur.Status != codepod.SandboxPending || cur.RunnerID != "" {
				return codepod.Event{}, false, nil // deleted or placed meanwhile
			}
			spec := cur.Spec
			spec.PlaceWorkspace = cur.WorkspaceID
			r, reason, err := s.claimRunner(ctx, tx, pass, &res, spec)
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
	if err != nil || placed == nil {
		s.release(&res)
	} else {
		s.committed(&res)
	}
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("place sandbox %s: %w", sb.ID, err)
	}
	if placed != nil {
		s.log.Info("sandbox placed", keySandbox, sb.ID, keyRunner, placed.RunnerID)
	}
	return nil
}

// claimRunner picks a runner for spec from the placement view, reserving
// room on it in the view (res), and claims the room inside tx: it locks
// the runner's row (LockRunner) and checks the room against that runner's
// usage read after the lock, so a placement by another replica or another
// create that committed first is counted. A runner found full is dropped
// from the view, its reservation given back, and the next one tried. When
// the view has no room left and was not read during this pass, it is read
// once more (it may have missed a freed slot or a new runner). It returns
// no runner, and why, when none fits. The caller releases res when its
// transaction fails.
func (s *Service) claimRunner(ctx context.Context, tx codepod.Store, pass *placePass, res *reservation, spec codepod.SandboxSpec) (*codepod.Runner, string, error) {
	for {
		p, err := s.placementView(ctx, tx, pass)
		if err != nil {
			return nil, "", err
		}
		r, reason := s.reserve(p, spec, res)
		if r == nil && !pass.reloaded {
			pass.wantFresh = true
			continue
		}
		if r == nil {
			return nil, reason, nil
		}
		locked, err := s.lockRoom(ctx, tx, p, r.ID, spec, true)
		if err != nil || locked != nil {
			return locked, "", err
		}
		s.release(res)
		s.drop(p, r.ID)
	}
}

// lockRoom locks runner id's row (LockRunner) and checks that spec fits
// the usage read after the lock; nil when the runner is full, offline or
// gone. The view p learns the usage read when it is more than p counted
// (placements by other replicas); reserved says that p already counts
// spec on this runner, which the usage read does not hold yet.
func (s *Service) lockRoom(ctx context.Context, tx codepod.Store, p *placement, id string, spec codepod.SandboxSpec, reserved bool) (*codepod.Runner, error) {
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
	u := usage[locked.ID]
	seen := u
	if reserved {
		seen.Sandboxes++
		seen.MemoryBytes += spec.MemoryBytes
	}
	s.viewMu.Lock()
	if p.usage == nil {
		p.usage = map[string]codepod.Usage{}
	}
	cur := p.usage[locked.ID]
	p.usage[locked.ID] = codepod.Usage{Sandboxes: max(cur.Sandboxes, seen.Sandboxes), MemoryBytes: max(cur.MemoryBytes, seen.MemoryBytes)}
	s.viewMu.Unlock()
	if !fits(locked.Capacity, u, spec) {
		return nil, nil
	}
	return locked, nil
}

// drop takes a runner out of the view's candidates (full, offline or
// deleted).
func (s *Service) drop(p *placement, id string) {
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	p.drop(id)
}

// drop takes a runner out of the candidates. The caller holds viewMu when
// p is shared.
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
