package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// Progress extends the lease of a job r holds to now+Lease and, while the
// sandbox is creating or starting, shows p.Message as its reason.
func (s *Service) Progress(ctx context.Context, r *codepod.Runner, jobID string, p wire.JobProgress) error {
	until := s.now().Add(s.cfg.Lease)
	if err := s.st.ExtendLease(ctx, r.ID, jobID, until); err != nil {
		return wrapUnlessDomain(err, "extend lease of job %s", jobID)
	}
	s.leases.set(jobID, r.ID, until)
	if p.Message == "" {
		return nil
	}
	j, err := s.st.Job(ctx, jobID)
	if err != nil {
		return fmt.Errorf("get job %s: %w", jobID, err)
	}
	if j.SandboxID == "" || (j.Kind != codepod.JobCreate && j.Kind != codepod.JobStart) {
		return nil
	}
	msg := codepod.TruncateUTF8(p.Message, 1024)
	return s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		sb, err := tx.Sandbox(ctx, j.SandboxID)
		if err != nil || sb.RunnerID != r.ID || (sb.Status != codepod.SandboxCreating && sb.Status != codepod.SandboxStarting) || sb.Reason == msg {
			return err
		}
		// The reason only; a conflict means the sandbox moved on, and the
		// progress message no longer matters.
		_, err = tx.UpdateSandbox(ctx, sb.ID, sb.Version, codepod.SandboxUpdate{Reason: &msg, At: s.now()})
		if errors.Is(err, codepod.ErrVersionConflict) {
			return nil
		}
		if err == nil {
			out.sandboxes = append(out.sandboxes, sb.ID)
		}
		return err
	})
}

// Result finishes a job r holds and applies its effect on the sandbox, in
// one transaction. A repeated report of a finished job changes nothing and
// is not an error. A result the store refuses (it cannot be saved) fails
// the job with a reason instead, so the runner is not asked to run it again
// and again.
func (s *Service) Result(ctx context.Context, r *codepod.Runner, jobID string, res wire.JobResult) error {
	res.Error = codepod.TruncateUTF8(res.Error, 4096)
	res.HostKeyFingerprint = codepod.TruncateUTF8(res.HostKeyFingerprint, 256)
	res.ContainerID = codepod.TruncateUTF8(res.ContainerID, 256)
	job, applied, err := s.finish(ctx, r, jobID, res)
	if err != nil && codepod.ErrorCode(err) == codepod.EINTERNAL && ctx.Err() == nil {
		s.log.Error("job result could not be saved; failing the job", keyJob, jobID, keyRunner, r.ID, keyErr, err)
		res = wire.JobResult{Error: "the server could not save this job's result"}
		job, applied, err = s.finish(ctx, r, jobID, res)
	}
	if err != nil {
		return wrapUnlessDomain(err, "finish job %s", jobID)
	}
	log := s.log.With(keyJob, jobID, keyRunner, r.ID)
	if !applied {
		log.Debug("repeated job result ignored")
		return nil
	}
	s.leases.done(jobID)
	s.metrics.finishedJob(job.Kind, res.OK)
	if f := s.warm.Load(); f != nil && job.Kind == codepod.JobCreate && res.OK && res.Adopted {
		(*f)(job.SandboxID)
	}
	log.Info("job finished", keyKind, job.Kind, keySandbox, job.SandboxID, "ok", res.OK, keyErr, res.Error)
	return nil
}

// finish records the result and applies it to the job's sandbox, in one
// transaction.
func (s *Service) finish(ctx context.Context, r *codepod.Runner, jobID string, res wire.JobResult) (*codepod.Job, bool, error) {
	status, kind := codepod.JobDone, codepod.EventJobDone
	if !res.OK {
		status, kind = codepod.JobFailed, codepod.EventJobFailed
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, false, fmt.Errorf("encode result: %w", err)
	}
	var job *codepod.Job
	applied := false
	err = s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		var err error
		if job, applied, err = tx.FinishJob(ctx, r.ID, jobID, status, raw, res.Error); err != nil || !applied {
			return err
		}
		if job.SandboxID == "" || job.Kind == codepod.JobTunnel || job.Kind == codepod.JobNetwork || job.Kind == codepod.JobNetLog || job.Kind == codepod.JobAgentUpgrade {
			return nil
		}
		ev := codepod.Event{Kind: kind, Job: job.Kind, RunnerID: job.RunnerID, Message: res.Error, HostKeyFingerprint: res.HostKeyFingerprint}
		_, _, err = s.apply(ctx, tx, out, job.SandboxID, always(ev))
		if codepod.ErrorCode(err) == codepod.ENOTFOUND {
			return nil
		}
		return err
	})
	return job, applied, err
}

// SetWarmReady sets what Result calls, after its transaction, with the id
// of a sandbox whose create adopted a warm-pool sandbox: the API server
// opens its pooled SSH connection to it then, so that the first exec,
// which follows within milliseconds, finds it opened or opening. f must
// not block.
func (s *Service) SetWarmReady(f func(sandboxID string)) { s.warm.Store(&f) }
