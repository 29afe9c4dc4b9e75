package control

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// AgentUpgradeWait is how long UpgradeAgent waits for the runner's answer.
const AgentUpgradeWait = 90 * time.Second

// UpgradeAgent asks the runner of running sandbox ref to replace its agent
// in place with the runner's agent binary (docs/upgrades.md) and waits (up
// to AgentUpgradeWait) for the answer: the new agent's version, which it
// records. Only admins may: the agent is the platform's, not the tenant's.
func (s *Service) UpgradeAgent(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, error) {
	if caller == nil || !caller.Admin {
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "only a server admin can replace a sandbox's agent")
	}
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, err
	}
	var j *codepod.Job
	err = s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		if sb, err = runningSandbox(ctx, tx, sb.ID); err != nil {
			return err
		}
		if j, err = s.newJob(codepod.JobAgentUpgrade, sb.RunnerID, sb.ID, sandboxPayload(sb)); err != nil {
			return err
		}
		if err := tx.EnqueueJob(ctx, j); err != nil {
			return fmt.Errorf("enqueue agent upgrade job: %w", err)
		}
		out.jobs = append(out.jobs, j)
		return nil
	})
	if err != nil {
		return nil, wrapUnlessDomain(err, "upgrade the agent of sandbox %s", sb.ID)
	}
	res, err := s.waitJobResult(ctx, j.ID, AgentUpgradeWait, "replace the agent")
	if err != nil {
		return nil, err
	}
	if res.AgentVersion != "" {
		if err := s.st.SetSandboxAgentVersion(ctx, sb.ID, codepod.TruncateUTF8(res.AgentVersion, 128)); err != nil {
			return nil, err
		}
	}
	return s.st.Sandbox(ctx, sb.ID)
}

// waitJobResult polls the store for a job's result (the runner reports it
// to whichever replica it polls).
func (s *Service) waitJobResult(ctx context.Context, jobID string, wait time.Duration, what string) (*wire.JobResult, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := s.cfg.Clock.NewTicker(100*time.Millisecond, "jobresult")
	defer t.Stop()
	for {
		j, err := s.st.Job(ctx, jobID)
		switch {
		case err != nil && ctx.Err() == nil:
			return nil, fmt.Errorf("get job %s: %w", jobID, err)
		case err == nil && j.Status == codepod.JobFailed:
			return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the runner could not %s: %s", what, j.Error)
		case err == nil && j.Status == codepod.JobDone:
			var res wire.JobResult
			if err := json.Unmarshal(j.Result, &res); err != nil {
				return nil, fmt.Errorf("decode result of job %s: %w", jobID, err)
			}
			return &res, nil
		}
		select {
		case <-ctx.Done():
			return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox's runner did not answer within %s; try again", wait)
		case <-t.C:
		}
	}
}
