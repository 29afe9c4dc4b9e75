package control

import (
	"context"
	"fmt"
	"sync"

	"github.com/codepod-dev/codepod"
)

// activePolls counts the polls this process holds, per runner.
type activePolls struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *activePolls) begin(runnerID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]int{}
	}
	a.n[runnerID]++
}

func (a *activePolls) end(runnerID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[runnerID]--; a.n[runnerID] <= 0 {
		delete(a.n, runnerID)
	}
}

func (a *activePolls) runners() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]string, 0, len(a.n))
	for id := range a.n {
		ids = append(ids, id)
	}
	return ids
}

// touchPolling moves last_seen forward for runners waiting in a poll here,
// so a poll held longer than RunnerTimeout does not make its runner offline.
// It writes only when last_seen is a third of RunnerTimeout old.
func (s *Service) touchPolling(ctx context.Context) error {
	now := s.now()
	for _, id := range s.polls.runners() {
		r, err := s.st.Runner(ctx, id)
		if err != nil || now.Sub(r.LastSeenAt) < s.cfg.RunnerTimeout/3 {
			continue // deleted meanwhile, or seen recently enough
		}
		if err := s.st.TouchRunner(ctx, id, now); err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
			return fmt.Errorf("touch polling runner %s: %w", id, err)
		}
	}
	return nil
}
