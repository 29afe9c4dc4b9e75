package runner

import (
	"context"
	"sync"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// progressState holds a job's latest progress message until it is sent.
type progressState struct {
	mu    sync.Mutex
	msg   string
	dirty bool
}

func (p *progressState) set(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	p.msg, p.dirty = msg, msg != p.msg || p.dirty
}

// take returns the message and whether it changed since the last take.
func (p *progressState) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	dirty := p.dirty
	p.dirty = false
	return p.msg, dirty
}

// keepLease sends the job's progress at most every ProgressInterval while it
// changes, and repeats it often enough (a third of the lease) to keep the
// lease from running out, until the job finishes.
func (r *Runner) keepLease(j *queuedJob, p *progressState) {
	keepalive := leaseKeepalive(j.job.LeaseExpiresAt.Sub(j.received))
	tick := time.NewTicker(min(keepalive/2, 250*time.Millisecond))
	defer tick.Stop()
	last, pending := time.Now(), false
	for {
		select {
		case <-j.ctx.Done():
			return
		case <-tick.C:
		}
		msg, changed := p.take()
		pending = pending || changed
		since := time.Since(last)
		if (pending && since >= r.cfg.ProgressInterval) || since >= keepalive {
			if msg == "" {
				msg = "waiting for a free job slot on the runner"
			}
			r.sendProgress(j, msg)
			last, pending = time.Now(), false
		}
	}
}

// leaseKeepalive is how often to renew a lease of length d: a third of it,
// within [500ms, 20s]; an unknown or skewed lease counts as 60s.
func leaseKeepalive(d time.Duration) time.Duration {
	if d <= 0 {
		d = 60 * time.Second
	}
	return min(max(d/3, 500*time.Millisecond), 20*time.Second)
}

// sendProgress is best effort: a lost report is made up by the next one.
func (r *Runner) sendProgress(j *queuedJob, msg string) {
	ctx, cancel := context.WithTimeout(j.ctx, 10*time.Second)
	defer cancel()
	if err := r.api.progress(ctx, r.credential(), j.job.ID, wire.JobProgress{Message: msg}); err != nil && j.ctx.Err() == nil {
		r.log.Debug("job progress not sent", "job_id", j.job.ID, "err", err)
	}
}
