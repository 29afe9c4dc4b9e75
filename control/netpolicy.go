package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// SetNetworkPolicy replaces the network policy of sandbox ref (an id, or
// a name of caller's). A running sandbox gets a network job in the same
// transaction, so its runner applies the policy without a restart; a
// stopped one takes it with its next start job. Only a sandbox created
// with a policy can change it (the others are not on the runner's policy
// network), and not while it is being created, started or stopped.
func (s *Service) SetNetworkPolicy(ctx context.Context, caller *codepod.User, ref string, p codepod.NetworkPolicy) (*codepod.Sandbox, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		next, err := s.setNetworkPolicy(ctx, sb.ID, p)
		if !errors.Is(err, codepod.ErrVersionConflict) {
			return next, wrapUnlessDomain(err, "set network policy of sandbox %s", sb.ID)
		}
	}
	return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is changing right now; try again", sb.Name)
}

func (s *Service) setNetworkPolicy(ctx context.Context, id string, p codepod.NetworkPolicy) (*codepod.Sandbox, error) {
	var next *codepod.Sandbox
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		sb, err := tx.Sandbox(ctx, id)
		if err != nil {
			return err
		}
		if err := policyChangeAllowed(sb); err != nil {
			return err
		}
		spec := sb.Spec
		spec.NetworkPolicy = &p
		var jobs []*codepod.Job
		if sb.Status == codepod.SandboxRunning {
			sb2 := *sb
			sb2.Spec, sb2.Version = spec, sb.Version+1 // the version this write gives it
			j, err := s.newJob(codepod.JobNetwork, sb.RunnerID, sb.ID, sandboxPayload(&sb2))
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		next, err = tx.UpdateSandbox(ctx, sb.ID, sb.Version, codepod.SandboxUpdate{Spec: &spec, At: s.now()}, jobs...)
		if err == nil {
			out.jobs = append(out.jobs, jobs...)
		}
		return err
	})
	return next, err
}

// policyChangeAllowed says why sb's policy cannot change now, if it cannot.
func policyChangeAllowed(sb *codepod.Sandbox) error {
	switch {
	case sb.Status == codepod.SandboxDeleted:
		return notFound(sb.ID)
	case sb.Spec.NetworkPolicy == nil:
		return codepod.Errorf(codepod.ECONFLICT, "sandbox %s was created without a network policy (network %s); create a new sandbox with --network-policy to manage its network", sb.Name, sb.Spec.Network)
	case sb.Status != codepod.SandboxRunning && sb.Status != codepod.SandboxStopped:
		return codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s; change its network policy when it is running or stopped", sb.Name, sb.Status)
	}
	return nil
}

// NetLogWait is how long NetLog waits for the runner's answer.
const NetLogWait = 15 * time.Second

// NetLog asks the runner of running sandbox ref what its network policy
// refused, and waits (up to NetLogWait) for the answer. A sandbox without
// a policy has nothing to log (ECONFLICT); a runner that does not answer
// in time is EUNAVAILABLE.
func (s *Service) NetLog(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, []wire.NetDenial, error) {
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, nil, err
	}
	if sb.Spec.NetworkPolicy == nil {
		return nil, nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s has no network policy, so nothing logs its refusals; create it with --network-policy", sb.Name)
	}
	var j *codepod.Job
	err = s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		if sb, err = runningSandbox(ctx, tx, sb.ID); err != nil {
			return err
		}
		if j, err = s.newJob(codepod.JobNetLog, sb.RunnerID, sb.ID, sandboxPayload(sb)); err != nil {
			return err
		}
		if err := tx.EnqueueJob(ctx, j); err != nil {
			return fmt.Errorf("enqueue netlog job: %w", err)
		}
		out.jobs = append(out.jobs, j)
		return nil
	})
	if err != nil {
		return nil, nil, wrapUnlessDomain(err, "ask for the net log of sandbox %s", sb.ID)
	}
	log, err := s.waitNetLog(ctx, j.ID)
	return sb, log, err
}

// waitNetLog polls the store for the netlog job's result: the runner
// reports it to whichever replica it polls.
func (s *Service) waitNetLog(ctx context.Context, jobID string) ([]wire.NetDenial, error) {
	ctx, cancel := context.WithTimeout(ctx, NetLogWait)
	defer cancel()
	t := s.cfg.Clock.NewTicker(100*time.Millisecond, "netlog")
	defer t.Stop()
	for {
		j, err := s.st.Job(ctx, jobID)
		switch {
		case err != nil && ctx.Err() == nil:
			return nil, fmt.Errorf("get job %s: %w", jobID, err)
		case err == nil && j.Status == codepod.JobFailed:
			return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the runner could not read the net log: %s", j.Error)
		case err == nil && j.Status == codepod.JobDone:
			var res wire.JobResult
			if err := json.Unmarshal(j.Result, &res); err != nil {
				return nil, fmt.Errorf("decode result of job %s: %w", jobID, err)
			}
			return res.NetLog, nil
		}
		select {
		case <-ctx.Done():
			return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox's runner did not answer within %s; try again", NetLogWait)
		case <-t.C:
		}
	}
}
