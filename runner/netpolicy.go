package runner

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// firewallReady makes sure a sandbox with a network policy can be
// enforced, and that it reaches nothing until applyPolicy ran.
func (r *Runner) firewallReady(ctx context.Context, p *wire.SandboxPayload) error {
	if p.NetworkPolicy == nil {
		return nil
	}
	if r.cfg.Firewall == nil {
		return codepod.Errorf(codepod.EINVALID, "this runner enforces no network policies (it runs without iptables); create the sandbox without --network-policy or on another runner")
	}
	return r.cfg.Firewall.Ready(ctx)
}

// applyPolicy applies p's network policy to its running sandbox.
func (r *Runner) applyPolicy(ctx context.Context, p *wire.SandboxPayload) error {
	if p.NetworkPolicy == nil {
		return nil
	}
	if r.cfg.Firewall == nil {
		return r.firewallReady(ctx, p)
	}
	addr, err := r.cfg.Backend.SandboxAddr(ctx, p.ID)
	if err != nil {
		return err
	}
	if err := r.cfg.Firewall.Apply(ctx, p.ID, addr, p.NetworkPolicy); err != nil {
		return fmt.Errorf("apply network policy: %w", err)
	}
	return nil
}

// network applies a changed policy to a running sandbox (a network job).
func (r *Runner) network(ctx context.Context, job wire.Job) (wire.JobResult, error) {
	p, err := sandboxPayload(job)
	if err != nil {
		return wire.JobResult{}, err
	}
	if p.NetworkPolicy == nil {
		return wire.JobResult{}, fmt.Errorf("network job without a network policy")
	}
	return wire.JobResult{}, r.applyPolicy(ctx, p)
}

// removePolicy deletes a sandbox's rules (before its container stops or
// goes, so its address is never left with them for the next sandbox).
func (r *Runner) removePolicy(ctx context.Context, id string) error {
	if r.cfg.Firewall == nil {
		return nil
	}
	if err := r.cfg.Firewall.Remove(ctx, id); err != nil {
		return fmt.Errorf("remove network policy: %w", err)
	}
	return nil
}

// stop removes the sandbox's rules and stops its container; the start
// job applies its policy again.
func (r *Runner) stop(ctx context.Context, id string) error {
	if err := r.removePolicy(ctx, id); err != nil {
		return err
	}
	return r.cfg.Backend.StopSandbox(ctx, id, r.cfg.StopTimeout)
}

// netLog answers a netlog job with what the sandbox's rules refused.
func (r *Runner) netLog(ctx context.Context, id string) (wire.JobResult, error) {
	if r.cfg.Firewall == nil {
		return wire.JobResult{}, codepod.Errorf(codepod.EINVALID, "this runner enforces no network policies, so it logs no refusals")
	}
	log, err := r.cfg.Firewall.Denied(ctx, id)
	if err != nil {
		return wire.JobResult{}, err
	}
	if len(log) > 1024 {
		log = log[:1024]
	}
	return wire.JobResult{NetLog: log}, nil
}
