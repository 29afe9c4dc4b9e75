package control

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// outbox collects what a transaction enqueued, and the sandboxes it changed,
// to announce once it committed.
type outbox struct {
	jobs      []*codepod.Job
	sandboxes []string // ids whose status or reason changed
	webhooks  bool     // webhook deliveries were written
}

// inTx runs fn in one store transaction; after it commits, it counts the
// jobs fn enqueued, wakes their runners' polls and wakes whoever waits on
// the sandboxes fn changed (WaitSandbox).
func (s *Service) inTx(ctx context.Context, fn func(tx codepod.Store, out *outbox) error) error {
	var out outbox
	err := s.st.InTx(ctx, func(tx codepod.Store) error {
		out = outbox{}
		return fn(tx, &out)
	})
	if err != nil {
		return err
	}
	for _, j := range out.jobs {
		s.metrics.enqueued.WithLabelValues(string(j.Kind)).Inc()
		s.log.Debug("job enqueued", keyJob, j.ID, keyKind, j.Kind, keySandbox, j.SandboxID, keyRunner, j.RunnerID)
		s.hub.Notify(j.RunnerID)
	}
	for _, id := range out.sandboxes {
		s.hub.Notify(sandboxKey(id))
	}
	if out.webhooks {
		s.wakeWebhooks()
	}
	if len(out.sandboxes) > 0 {
		s.hub.Notify(sandboxesKey)
	}
	return nil
}

// enqueue adds a job of kind for sb to the queue of runnerID.
func (s *Service) enqueue(ctx context.Context, tx codepod.Store, out *outbox, kind codepod.JobKind, runnerID, sandboxID string, payload any) error {
	j, err := s.newJob(kind, runnerID, sandboxID, payload)
	if err != nil {
		return err
	}
	if err := tx.EnqueueJob(ctx, j); err != nil {
		return fmt.Errorf("enqueue %s job: %w", kind, err)
	}
	out.jobs = append(out.jobs, j)
	return nil
}

func (s *Service) newJob(kind codepod.JobKind, runnerID, sandboxID string, payload any) (*codepod.Job, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s job: %w", kind, err)
	}
	now := s.now()
	return &codepod.Job{
		Kind: kind, SandboxID: sandboxID, RunnerID: runnerID, Payload: raw,
		Status: codepod.JobQueued, CreatedAt: now, UpdatedAt: now,
	}, nil
}

// sandboxJob makes (without enqueueing) a create, start, stop or delete job
// for sb on its runner. Create and start carry the SSH secret and the
// owner's keys (the runner may have to make the container again); stop and
// delete do not.
func (s *Service) sandboxJob(ctx context.Context, tx codepod.Store, kind codepod.JobKind, sb *codepod.Sandbox) (*codepod.Job, error) {
	p := sandboxPayload(sb)
	if kind == codepod.JobCreate || kind == codepod.JobStart {
		keys, err := tx.ListSSHKeys(ctx, sb.OwnerID)
		if err != nil {
			return nil, fmt.Errorf("list ssh keys of %s: %w", sb.OwnerID, err)
		}
		p.SSHSecret = sb.SSHSecret
		for _, k := range keys {
			p.AuthorizedKeys = append(p.AuthorizedKeys, k.PublicKey)
		}
	}
	return s.newJob(kind, sb.RunnerID, sb.ID, p)
}

// sandboxPayload is what a runner learns of sb, without secrets.
func sandboxPayload(sb *codepod.Sandbox) *wire.SandboxPayload {
	return &wire.SandboxPayload{
		ID: sb.ID, Name: sb.Name, OwnerID: sb.OwnerID,
		Image: sb.Spec.Image, CPU: sb.Spec.CPU, MemoryBytes: sb.Spec.MemoryBytes, PidsLimit: sb.Spec.PidsLimit, DiskBytes: sb.Spec.DiskBytes,
		Env: sb.Spec.Env, Labels: sb.Spec.Labels, Network: sb.Spec.Network, Runtime: sb.Spec.Runtime,
		NetworkPolicy: wirePolicy(sb.Spec.NetworkPolicy, sb.Version),
		Devcontainer:  wireDevcontainer(sb.Spec.Devcontainer),
		Build:         wireBuild(sb.Spec.Build), Workspace: wireWorkspace(sb.Spec.Workspace),
	}
}

// wireBuild is b on the wire (nil for nil).
func wireBuild(b *codepod.BuildSpec) *wire.BuildPayload {
	if b == nil {
		return nil
	}
	w := &wire.BuildPayload{Context: b.Context, Dockerfile: b.Dockerfile, Args: b.Args, Target: b.Target,
		CacheFrom: b.CacheFrom, Image: b.Image}
	for _, f := range b.Features {
		w.Features = append(w.Features, wire.FeaturePayload{ID: f.ID, Dir: f.Dir, Env: f.Env, ContainerEnv: f.ContainerEnv})
	}
	return w
}

// wireWorkspace is w on the wire (nil for nil).
func wireWorkspace(w *codepod.WorkspaceSpec) *wire.WorkspacePayload {
	if w == nil {
		return nil
	}
	return &wire.WorkspacePayload{Archive: w.Archive, Folder: w.Folder}
}

// wireDevcontainer is d as JSON (nil for nil).
func wireDevcontainer(d *codepod.DevcontainerSpec) json.RawMessage {
	if d == nil {
		return nil
	}
	b, _ := json.Marshal(d)
	return b
}

// wirePolicy is p on the wire (nil for nil).
func wirePolicy(p *codepod.NetworkPolicy, version int64) *wire.PolicyPayload {
	if p == nil {
		return nil
	}
	return &wire.PolicyPayload{Mode: p.Mode, Allow: p.Allow, Deny: p.Deny, Version: version}
}

// toWire turns a leased job into what the runner receives.
func toWire(j *codepod.Job) (wire.Job, error) {
	w := wire.Job{ID: j.ID, Kind: string(j.Kind), SandboxID: j.SandboxID, Attempt: j.Attempts}
	if j.LeaseExpiresAt != nil {
		w.LeaseExpiresAt = *j.LeaseExpiresAt
	}
	var err error
	if j.Kind == codepod.JobTunnel {
		w.Tunnel = new(wire.TunnelPayload)
		err = json.Unmarshal(j.Payload, w.Tunnel)
	} else {
		w.Sandbox = new(wire.SandboxPayload)
		err = json.Unmarshal(j.Payload, w.Sandbox)
		if w.SandboxID == "" {
			w.SandboxID = w.Sandbox.ID // an orphan the server never knew
		}
	}
	if err != nil {
		return wire.Job{}, fmt.Errorf("decode payload of job %s: %w", j.ID, err)
	}
	return w, nil
}
