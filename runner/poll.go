package runner

import (
	"context"
	"errors"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// pollMargin is added to PollWait for the poll request's own deadline, so a
// poll the server holds for the full wait is not cut off by the runner.
const pollMargin = 15 * time.Second

// pollLoop polls until ctx ends (nil) or the credential is rejected.
// Jobs it accepts run under jobsCtx.
func (r *Runner) pollLoop(ctx, jobsCtx context.Context, d *dispatcher) error {
	bo := newBackoff(r.cfg.MaxBackoff)
	var nextReconcile time.Time // zero: reconcile on the first poll
	skewWarned := false
	for ctx.Err() == nil {
		req := r.pollRequest(ctx, d, !time.Now().Before(nextReconcile))
		began := time.Now()
		resp, err := r.pollOnce(ctx, req)
		switch {
		case ctx.Err() != nil:
			return nil
		case unauthorized(err):
			return errCredentialRejected
		case err != nil:
			wait := bo.next()
			r.logPollError(err, bo.failures(), wait)
			sleep(ctx, wait)
			continue
		}
		if bo.failures() > 0 {
			r.log.Info("server reachable again", "after_failures", bo.failures())
		}
		bo.reset()
		if req.Reconcile {
			nextReconcile = time.Now().Add(r.cfg.ReconcileInterval)
		}
		r.accept(jobsCtx, d, resp.Jobs)
		if !r.cfg.AutoUpdate && !skewWarned && resp.ServerVersion != "" && resp.ServerVersion != r.cfg.Version {
			skewWarned = true
			r.log.Warn("the server runs another version than this runner: restart it with --auto-update or install the server's version (docs/upgrades.md)",
				"version", r.cfg.Version, "server_version", resp.ServerVersion)
		}
		if r.wantsUpdate(resp.ServerVersion) {
			r.log.Info("the server runs another version: updating this runner", "version", r.cfg.Version, "server_version", resp.ServerVersion)
			v, err := r.selfUpdate(ctx)
			if err == nil {
				r.log.Info("runner binary replaced", "path", r.cfg.Executable, "version", v)
				return ErrRestart
			}
			r.log.Warn("self-update failed; running on and trying again later", "err", err, "retry_in", updateRetry)
		}
		if len(resp.Jobs) == 0 && time.Since(began) < time.Second {
			sleep(ctx, time.Second) // a server that does not hold polls must not make us spin
		}
		d.waitFree(ctx, r.cfg.PollWait)
	}
	return nil
}

// pollRequest builds the heartbeat; with reconcile it carries the inventory
// (and falls back to a plain heartbeat when the inventory cannot be read).
func (r *Runner) pollRequest(ctx context.Context, d *dispatcher, reconcile bool) wire.PollRequest {
	req := wire.PollRequest{
		Capacity:    r.capacity(ctx),
		Runtimes:    r.runtimes(ctx, reconcile),
		WaitSeconds: int(r.cfg.PollWait / time.Second),
		MaxJobs:     min(max(d.free(), 1), 100),
		WarmPools:   r.WarmPools(),
		Version:     r.cfg.Version,
	}
	if !reconcile {
		return req
	}
	inv, err := r.Inventory(ctx)
	if err != nil {
		r.log.Warn("cannot list this runner's containers; reconciling later", "err", err)
		return req
	}
	req.Reconcile, req.Sandboxes = true, inv
	return req
}

func (r *Runner) pollOnce(ctx context.Context, req wire.PollRequest) (*wire.PollResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(req.WaitSeconds)*time.Second+pollMargin)
	defer cancel()
	return r.api.poll(ctx, r.credential(), req)
}

// accept hands delivered jobs to the dispatcher, skipping ones it holds.
func (r *Runner) accept(jobsCtx context.Context, d *dispatcher, jobs []wire.Job) {
	for _, job := range jobs {
		j := r.hold(jobsCtx, job)
		if !d.submit(j) {
			j.finish()
			r.log.Debug("job already held; ignoring its redelivery", "job_id", job.ID)
		}
	}
}

// logPollError warns on the first failure and then every tenth, so an
// outage does not flood the log.
func (r *Runner) logPollError(err error, failures int, wait time.Duration) {
	var se *StatusError
	attrs := []any{"err", err, "failures", failures, "retry_in", wait.Round(time.Millisecond)}
	if failures == 1 || failures%10 == 0 || errors.As(err, &se) {
		r.log.Warn("poll failed; retrying", attrs...)
		return
	}
	r.log.Debug("poll failed; retrying", attrs...)
}
