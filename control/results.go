package control

import (
	"context"
	"encoding/json"
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
	msg := truncate(p.Message, 1024)
	return s.st.InTx(ctx, func(tx codepod.Store) error {
		sb, err := tx.Sandbox(ctx, j.SandboxID)
		if err != nil || sb.RunnerID != r.ID || (sb.Status != codepod.SandboxCreating && sb.Status != codepod.SandboxStarting) {
			return err
		}
		_, err = tx.UpdateSandbox(ctx, sb.ID, codepod.SandboxUpdate{Reason: &msg})
		return err
	})
}

// Result finishes a job r holds and applies its effect on the sandbox, in
// one transaction. A repeated report of a finished job changes nothing and
// is not an error.
func (s *Service) Result(ctx context.Context, r *codepod.Runner, jobID string, res wire.JobResult) error {
	status := codepod.JobDone
	if !res.OK {
		status = codepod.JobFailed
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	var job *codepod.Job
	applied := false
	err = s.st.InTx(ctx, func(tx codepod.Store) error {
		var err error
		if job, applied, err = tx.FinishJob(ctx, r.ID, jobID, status, raw, truncate(res.Error, 4096)); err != nil || !applied {
			return err
		}
		return s.applyResult(ctx, tx, job, res)
	})
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
	log.Info("job finished", keyKind, job.Kind, keySandbox, job.SandboxID, "ok", res.OK, keyErr, res.Error)
	return nil
}

// applyResult moves the job's sandbox to where the result takes it. Results
// for a sandbox that moved to another runner, or that is being deleted
// (other than the delete itself), change nothing.
func (s *Service) applyResult(ctx context.Context, tx codepod.Store, j *codepod.Job, res wire.JobResult) error {
	if _, ok := resultStatus[j.Kind]; !ok || j.SandboxID == "" {
		return nil
	}
	sb, err := tx.Sandbox(ctx, j.SandboxID)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get sandbox of job %s: %w", j.ID, err)
	}
	deleting := sb.Status == codepod.SandboxDeleting || sb.Status == codepod.SandboxDeleted
	if sb.RunnerID != j.RunnerID || deleting != (j.Kind == codepod.JobDelete) || sb.Status == codepod.SandboxDeleted {
		return nil
	}
	upd := resultUpdate(j.Kind, res)
	if _, err := tx.UpdateSandbox(ctx, sb.ID, upd); err != nil {
		return fmt.Errorf("apply %s result to sandbox %s: %w", j.Kind, sb.ID, err)
	}
	return nil
}

// resultStatus is where a successful job of each kind takes its sandbox.
var resultStatus = map[codepod.JobKind]codepod.SandboxStatus{
	codepod.JobCreate: codepod.SandboxRunning,
	codepod.JobStart:  codepod.SandboxRunning,
	codepod.JobStop:   codepod.SandboxStopped,
	codepod.JobDelete: codepod.SandboxDeleted,
}

func resultUpdate(kind codepod.JobKind, res wire.JobResult) codepod.SandboxUpdate {
	next, reason := resultStatus[kind], ""
	if !res.OK {
		next, reason = codepod.SandboxError, truncate(res.Error, 4096)
		if reason == "" {
			reason = fmt.Sprintf("%s failed on the runner", kind)
		}
	}
	upd := codepod.SandboxUpdate{Status: &next, Reason: &reason}
	if res.OK && res.HostKeyFingerprint != "" {
		upd.HostKeyFingerprint = &res.HostKeyFingerprint
	}
	return upd
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
