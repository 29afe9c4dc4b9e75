package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	r.policyMu.Lock()
	defer r.policyMu.Unlock()
	if err := r.cfg.Firewall.Apply(ctx, p.ID, addr, p.NetworkPolicy); err != nil {
		return fmt.Errorf("apply network policy: %w", err)
	}
	return r.savePolicy(p.ID, p.NetworkPolicy)
}

// The runner keeps the policy it applied to each running sandbox in
// StateDir/netpolicy/<id>.json (a directory no sandbox mounts), so that a
// restarted runner applies them again before it takes jobs: the egress
// proxy and DNS responder live in the runner process, and the nat rules of
// a sandbox with domain rules point at the ports of the process that made
// them.
const policyDir = "netpolicy"

func (r *Runner) policyPath(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return "", fmt.Errorf("sandbox id %q cannot name a policy file", id)
	}
	return filepath.Join(r.cfg.StateDir, policyDir, id+".json"), nil
}

// savePolicy records p as sandbox id's applied policy unless a newer one
// is recorded (Apply ignores an older one too). Callers hold policyMu.
func (r *Runner) savePolicy(id string, p *wire.PolicyPayload) error {
	path, err := r.policyPath(id)
	if err != nil {
		return err
	}
	if old, err := readPolicy(path); err == nil && old.Version > p.Version {
		return nil
	}
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o600)
}

func readPolicy(path string) (*wire.PolicyPayload, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p wire.PolicyPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// restorePolicies applies the recorded policy of every sandbox that still
// runs (a runner restart) and forgets those of sandboxes that do not. A
// sandbox whose policy cannot be applied keeps the rules it has (a domain
// list then reaches nothing by name: it fails closed) and is logged.
func (r *Runner) restorePolicies(ctx context.Context) {
	if r.cfg.Firewall == nil {
		return
	}
	dir := filepath.Join(r.cfg.StateDir, policyDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		r.log.Warn("cannot read recorded network policies", "err", err)
		return
	}
	r.policyMu.Lock()
	defer r.policyMu.Unlock()
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		path, err := r.policyPath(id)
		if err != nil {
			continue
		}
		p, err := readPolicy(path)
		if err != nil {
			r.log.Warn("cannot read a recorded network policy", "sandbox_id", id, "err", err)
			continue
		}
		addr, err := r.cfg.Backend.SandboxAddr(ctx, id)
		switch codepod.ErrorCode(err) {
		case "":
		case codepod.EUNAVAILABLE, codepod.ECONFLICT, codepod.ENOTFOUND:
			os.Remove(path) // not running here any more; a start applies it again
			continue
		default:
			r.log.Warn("cannot find a sandbox to apply its network policy again", "sandbox_id", id, "err", err)
			continue
		}
		if err := r.cfg.Firewall.Apply(ctx, id, addr, p); err != nil {
			r.log.Warn("cannot apply a recorded network policy again", "sandbox_id", id, "err", err)
			continue
		}
		r.log.Info("network policy applied again after a restart", "sandbox_id", id, "mode", p.Mode, "version", p.Version)
	}
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
	r.policyMu.Lock()
	defer r.policyMu.Unlock()
	if err := r.cfg.Firewall.Remove(ctx, id); err != nil {
		return fmt.Errorf("remove network policy: %w", err)
	}
	if path, err := r.policyPath(id); err == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove network policy record: %w", err)
		}
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
