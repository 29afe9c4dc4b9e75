package control

import (
	"context"
	"fmt"
	"time"

	"github.com/coder/quartz"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/writeprio"
	"github.com/codepod-dev/codepod/wire"
)

// Job counts per poll.
const (
	defaultMaxJobs = 10
	maxMaxJobs     = 100
)

// Poll records r's heartbeat, reconciles its inventory when req.Reconcile
// is set, places waiting sandboxes, and leases r's due jobs. When none is
// due it holds the call up to req.WaitSeconds (Config.PollWait when 0,
// at most MaxPollWait) or until ctx ends: a job enqueued for r meanwhile is
// answered at once, else it claims once more at the end and answers,
// possibly with no jobs. A poll whose ctx ends while it waits answers with
// no jobs and no error.
func (s *Service) Poll(ctx context.Context, r *codepod.Runner, req wire.PollRequest) (*wire.PollResponse, error) {
	if req.Capacity.Sandboxes < 0 || req.Capacity.MemoryBytes < 0 {
		return nil, codepod.Errorf(codepod.EINVALID, "capacity must not be negative")
	}
	previousPoll := s.previousPoll(r) // the inventory was taken after it
	r, err := s.heartbeat(ctx, r, req.Capacity, req.Runtimes, req.Reconcile)
	if err != nil {
		return nil, err
	}
	if err := s.recordWarmPools(ctx, r.ID, req.WarmPools); err != nil {
		return nil, err
	}
	if req.Version != "" && req.Version != r.Version {
		if err := s.st.SetRunnerVersion(ctx, r.ID, req.Version); err != nil {
			return nil, err
		}
		s.log.Info("runner version changed", keyRunner, r.ID, "from", r.Version, "to", req.Version)
		r.Version = req.Version
	}
	s.polls.begin(r.ID, r.LastSeenAt)
	defer s.polls.end(r.ID)
	max := clamp(req.MaxJobs, defaultMaxJobs, maxMaxJobs)
	var jobs []wire.Job
	if req.Reconcile {
		// Claim first: a lost sandbox whose job is due again turns back
		// into creating/starting/stopping, which reconcile leaves alone.
		if jobs, err = s.claim(ctx, r, max); err != nil {
			return nil, err
		}
		if err := s.reconcile(ctx, r, req.Sandboxes, previousPoll); err != nil {
			return nil, err
		}
	}
	if err := s.placePending(ctx); err != nil {
		s.log.Error("place pending sandboxes", keyRunner, r.ID, keyErr, err)
	}
	wait := s.pollWait(req.WaitSeconds)
	if len(jobs) > 0 {
		wait = 0 // answer with what the reconcile claim found; do not hold it
	}
	more, err := s.await(ctx, r, max-len(jobs), wait)
	if err != nil {
		return nil, err
	}
	return &wire.PollResponse{Jobs: append(jobs, more...)}, nil
}

// previousPoll is when r last polled, as far as this process knows: its
// last_seen_at, or the start of its previous poll here when that is later
// (a heartbeat that changes nothing is not written). It records this poll.
func (s *Service) previousPoll(r *codepod.Runner) time.Time {
	prev := r.LastSeenAt
	if t, ok := s.lastPoll.Swap(r.ID, s.now()); ok && t.(time.Time).After(prev) {
		prev = t.(time.Time)
	}
	return prev
}

func (s *Service) pollWait(seconds int) time.Duration {
	if seconds <= 0 {
		return s.cfg.PollWait
	}
	return min(time.Duration(seconds)*time.Second, MaxPollWait)
}

func clamp(n, def, hi int) int {
	if n <= 0 {
		return def
	}
	return min(n, hi)
}

// await claims up to max jobs of r, waiting up to wait for one to be due.
// The hold is a timer of the configured clock, created once the first
// claim found nothing (tags "poll", "wait"): a test that traps it knows the
// poll is waiting.
func (s *Service) await(ctx context.Context, r *codepod.Runner, max int, wait time.Duration) ([]wire.Job, error) {
	jobs := []wire.Job{}
	if max <= 0 {
		return jobs, nil
	}
	start := time.Now()
	var timer *quartz.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	final := false
	for {
		woken := s.hub.Wait(r.ID) // before the claim: a job enqueued after it wakes us
		got, err := s.claim(ctx, r, max)
		if err != nil && ctx.Err() != nil {
			return jobs, nil // the caller is gone; the jobs wait for the next poll
		}
		if err != nil {
			return nil, err
		}
		if len(got) > 0 || final || wait <= 0 {
			s.metrics.pollWait.Observe(time.Since(start).Seconds())
			return append(jobs, got...), nil
		}
		if timer == nil {
			timer = s.cfg.Clock.NewTimer(wait, "poll", "wait")
		}
		select {
		case <-woken:
		case <-timer.C:
			final = true
		case <-ctx.Done():
			return jobs, nil
		}
	}
}

// claim leases up to max due jobs of r. A create, start or stop job whose
// sandbox is pending, lost or in error moves it to creating, starting or
// stopping in the same transaction.
func (s *Service) claim(ctx context.Context, r *codepod.Runner, max int) ([]wire.Job, error) {
	now := s.now()
	if due, err := s.st.HasDueJobs(ctx, r.ID, now); err == nil && !due {
		return []wire.Job{}, nil // nothing to lease: no write transaction
	}
	var claimed []codepod.Job
	var expired int
	// Urgent: on SQLite the claim goes before the creates and results
	// queued for the single writer (its wait is the job's delivery time).
	err := s.st.InTx(writeprio.Urgent(ctx), func(tx codepod.Store) error {
		var err error
		if claimed, expired, err = tx.ClaimJobs(ctx, r.ID, now, s.cfg.Lease, max); err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		if claimed, err = failStale(ctx, tx, r.ID, claimed, now); err != nil {
			return err
		}
		for i := range claimed {
			if err := s.markLeased(ctx, tx, &claimed[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.metrics.leased.Add(float64(len(claimed)))
	s.metrics.leaseExpired.Add(float64(expired))
	out := make([]wire.Job, 0, len(claimed))
	for i := range claimed {
		j := &claimed[i]
		if j.LeaseExpiresAt != nil {
			s.leases.set(j.ID, r.ID, *j.LeaseExpiresAt)
		}
		w, err := toWire(j)
		if err != nil {
			return nil, err
		}
		s.log.Info("job leased", keyJob, j.ID, keyKind, j.Kind, keySandbox, j.SandboxID, keyRunner, r.ID, "attempt", j.Attempts)
		out = append(out, w)
	}
	return out, nil
}

// markLeased applies codepod.EventLeased for a leased job: a create, start
// or stop job moves a pending, lost or in-error sandbox to creating,
// starting or stopping.
func (s *Service) markLeased(ctx context.Context, tx codepod.Store, j *codepod.Job) error {
	if j.SandboxID == "" || j.Kind == codepod.JobTunnel || j.Kind == codepod.JobNetwork || j.Kind == codepod.JobNetLog || j.Kind == codepod.JobAgentUpgrade || j.Kind == codepod.JobDelete {
		return nil
	}
	ev := codepod.Event{Kind: codepod.EventLeased, Job: j.Kind, RunnerID: j.RunnerID}
	if _, _, err := s.apply(ctx, tx, &outbox{}, j.SandboxID, always(ev)); err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
		return fmt.Errorf("mark sandbox %s leased: %w", j.SandboxID, err)
	}
	return nil
}
