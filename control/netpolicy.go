package control

import (
	"context"
	"errors"

	"github.com/codepod-dev/codepod"
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
