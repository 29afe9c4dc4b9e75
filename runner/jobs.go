package runner

import (
	"context"
	"log/slog"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// hold wraps a delivered job and starts keeping its lease alive; the lease
// keeper stops when the job finishes or is dropped.
func (r *Runner) hold(jobsCtx context.Context, job wire.Job) *queuedJob {
	ctx, cancel := context.WithCancel(jobsCtx)
	p := &progressState{}
	j := &queuedJob{job: job, received: time.Now(), ctx: ctx, finish: cancel, progress: p.set}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		r.keepLease(j, p)
	}()
	return j
}

// execute runs a job and reports its result. A job cut short by shutdown is
// not reported: its lease runs out and the server delivers it again.
func (r *Runner) execute(jobsCtx context.Context, j *queuedJob) {
	log := r.log.With("job_id", j.job.ID, "kind", j.job.Kind, "sandbox_id", j.job.SandboxID, "attempt", j.job.Attempt)
	start := time.Now()
	res := r.Handle(jobsCtx, j.job, j.progress)
	if jobsCtx.Err() != nil {
		log.Warn("job abandoned: the runner is shutting down")
		return
	}
	j.finish() // stop lease keeping: the result ends the lease
	log.Info("job finished", "ok", res.OK, "error", res.Error, "duration", time.Since(start).Round(time.Millisecond))
	r.report(jobsCtx, log, j.job.ID, res)
}

// report sends a job's result, retrying network and server errors for up to
// ReportTimeout. It uses a context of its own, so a result is not lost when
// the runner begins to shut down while it is being sent.
func (r *Runner) report(parent context.Context, log *slog.Logger, jobID string, res wire.JobResult) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.cfg.ReportTimeout)
	defer cancel()
	bo := newBackoff(r.cfg.MaxBackoff)
	for {
		err := r.api.result(ctx, r.credential(), jobID, res)
		if err == nil {
			return
		}
		if !retryable(err) {
			log.Warn("server refused the job result; dropping it", "err", err)
			return
		}
		if ctx.Err() != nil || !sleep(ctx, bo.next()) {
			log.Error("could not report the job result in time; the server will deliver the job again", "err", err)
			return
		}
	}
}
