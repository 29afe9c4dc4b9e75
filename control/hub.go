package control

import (
	"sync"
	"time"

	"github.com/codepod-dev/codepod/internal/wakeup"
)

// Hub wakes polls that wait for jobs. It only cuts latency: the database is
// the truth, and a poll that is never woken still claims its jobs when its
// wait ends.
//
// A waiting poll takes Wait's channel before it looks for jobs, so a job
// enqueued between the look and the wait is not missed. Notify is called
// after the transaction that enqueued a job committed, and by the tick loop
// when a lease this process handed out expires.
//
// LocalHub serves one process. For several replicas on PostgreSQL,
// store.Hub (from (*store.DB).NewHub) adds LISTEN/NOTIFY: Notify sends
// `pg_notify('codepod_jobs', '<runner id>')` besides waking local waiters,
// and a goroutine LISTENing on codepod_jobs wakes this process's waiters for
// every notification, so the replica that holds a runner's poll wakes it.
type Hub interface {
	// Wait returns a channel that is closed by the next Notify of runnerID
	// (or of a sandbox's key, "sandbox/<id>", which WaitSandbox waits on).
	Wait(runnerID string) <-chan struct{}
	// Notify wakes every poll of runnerID that waits now.
	Notify(runnerID string)
}

// LocalHub is a Hub for the polls of one process: one channel per runner,
// closed and replaced by Notify.
type LocalHub struct{ set wakeup.Set }

var _ Hub = (*LocalHub)(nil)

// NewLocalHub returns an empty LocalHub.
func NewLocalHub() *LocalHub { return &LocalHub{} }

// Wait implements Hub.
func (h *LocalHub) Wait(runnerID string) <-chan struct{} { return h.set.Wait(runnerID) }

// Notify implements Hub.
func (h *LocalHub) Notify(runnerID string) { h.set.Wake(runnerID) }

// leaseWatch remembers the leases this process handed out, so the tick loop
// can wake the runner's waiting poll when one expires and the job is due
// again. Leases handed out by other replicas are found by the final claim
// of every poll.
type leaseWatch struct {
	mu   sync.Mutex
	jobs map[string]lease // by job id
}

type lease struct {
	runnerID string
	until    time.Time
}

func newLeaseWatch() *leaseWatch { return &leaseWatch{jobs: map[string]lease{}} }

func (w *leaseWatch) set(jobID, runnerID string, until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs[jobID] = lease{runnerID, until}
}

func (w *leaseWatch) done(jobID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.jobs, jobID)
}

// expired forgets the leases that ended before now and returns their runners.
func (w *leaseWatch) expired(now time.Time) map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	runners := map[string]bool{}
	for id, l := range w.jobs {
		if !l.until.After(now) {
			runners[l.runnerID] = true
			delete(w.jobs, id)
		}
	}
	return runners
}

// wakeExpiredLeases wakes the polls of runners whose jobs are due again.
func (s *Service) wakeExpiredLeases() {
	for id := range s.leases.expired(s.now()) {
		s.hub.Notify(id)
	}
}
