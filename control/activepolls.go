package control

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/codepod-dev/codepod"
)

// activePolls counts the polls this process holds, per runner, and
// remembers the last_seen_at each runner has in the store as far as this
// process knows, so touchPolling need not read every runner at each tick.
type activePolls struct {
	mu   sync.Mutex
	n    map[string]int
	seen map[string]time.Time
}

// begin counts a poll of runnerID, whose last_seen_at is seen.
func (a *activePolls) begin(runnerID string, seen time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n, a.seen = map[string]int{}, map[string]time.Time{}
	}
	a.n[runnerID]++
	if seen.After(a.seen[runnerID]) {
		a.seen[runnerID] = seen
	}
}

// touched records that runnerID's last_seen_at is now at.
func (a *activePolls) touched(runnerID string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.n[runnerID]; ok && at.After(a.seen[runnerID]) {
		a.seen[runnerID] = at
	}
}

func (a *activePolls) end(runnerID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[runnerID]--; a.n[runnerID] <= 0 {
		delete(a.n, runnerID)
		delete(a.seen, runnerID)
	}
}

// stale returns the runners polling here last seen before before.
func (a *activePolls) stale(before time.Time) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for id := range a.n {
		if a.seen[id].Before(before) {
			ids = append(ids, id)
		}
	}
	return ids
}

// touchBatch is how many held polls' runners one transaction touches.
const touchBatch = 50

// touchPolling moves last_seen forward for runners waiting in a poll here,
// so a poll held longer than RunnerTimeout does not make its runner offline.
// It writes only when last_seen is a third of RunnerTimeout old, as this
// process knows it (from the poll's heartbeat or its own touch; a newer
// one written by another replica only makes the touch redundant), and
// reads nothing: a tick costs nothing per held poll.
//
// The touches of a tick are batched, touchBatch runners a transaction:
// one commit (one WAL sync on PostgreSQL) per batch however many runners
// poll, and on SQLite no single transaction holds the writer long enough
// to delay a woken poll's claim by more than one batch (one transaction
// for a tick touching 1,000 runners could).
func (s *Service) touchPolling(ctx context.Context) error {
	now := s.now()
	ids := s.polls.stale(now.Add(-s.cfg.RunnerTimeout / 3))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), touchBatch)]
		ids = ids[len(batch):]
		err := s.st.InTx(ctx, func(tx codepod.Store) error {
			for _, id := range batch {
				err := tx.TouchRunner(ctx, id, now)
				if err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
					return fmt.Errorf("touch polling runner %s: %w", id, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range batch {
			s.polls.touched(id, now)
		}
	}
	return nil
}
