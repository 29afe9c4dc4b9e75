package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// Handle runs one job now and returns its result without reporting it
// (Run reports). progress may be nil. Every kind is idempotent by sandbox
// id, so a job delivered twice does no harm.
func (r *Runner) Handle(ctx context.Context, job wire.Job, progress func(msg string)) wire.JobResult {
	if progress == nil {
		progress = func(string) {}
	}
	res, err := r.handle(ctx, job, progress)
	if err != nil {
		return wire.JobResult{Error: failureMessage(err)}
	}
	res.OK = true
	return res
}

func (r *Runner) handle(ctx context.Context, job wire.Job, progress func(string)) (wire.JobResult, error) {
	if job.Kind == wire.KindTunnel {
		return wire.JobResult{}, r.openTunnel(ctx, job)
	}
	if err := validSandboxID(job.SandboxID); err != nil {
		return wire.JobResult{}, err
	}
	if r.ID() == "" {
		return wire.JobResult{}, errors.New("the runner is not registered yet")
	}
	switch job.Kind {
	case wire.KindCreate:
		return r.create(ctx, job, progress)
	case wire.KindStart:
		return r.start(ctx, job, progress)
	case wire.KindStop:
		return wire.JobResult{}, r.stop(ctx, job.SandboxID)
	case wire.KindDelete:
		return wire.JobResult{}, r.delete(ctx, job.SandboxID)
	case wire.KindNetwork:
		return r.network(ctx, job)
	case wire.KindAgentUpgrade:
		v, err := r.UpgradeAgent(ctx, job.SandboxID)
		return wire.JobResult{AgentVersion: v}, err
	case wire.KindNetLog:
		return r.netLog(ctx, job.SandboxID)
	default:
		return wire.JobResult{}, fmt.Errorf("unknown job kind %q (is this runner older than the server?)", job.Kind)
	}
}

// create pulls the image if needed, prepares the host directory and makes
// sure the container exists and runs. The image comes first so that a
// failed pull leaves nothing behind.
func (r *Runner) create(ctx context.Context, job wire.Job, progress func(string)) (wire.JobResult, error) {
	p, err := sandboxPayload(job)
	if err != nil {
		return wire.JobResult{}, err
	}
	if err := r.checkRuntime(ctx, p.Runtime); err != nil {
		return wire.JobResult{}, err
	}
	switch cid, fp, err := r.adopt(ctx, p); {
	case err == nil:
		return wire.JobResult{HostKeyFingerprint: fp, ContainerID: cid, Adopted: true}, nil
	case !errors.Is(err, errNoMember):
		return wire.JobResult{}, err
	}
	if b := r.cfg.ImageBuilds; b != nil {
		if _, err := b.Wait(ctx, p.Image, progress); err != nil {
			if ctx.Err() != nil {
				return wire.JobResult{}, ctx.Err()
			}
			return wire.JobResult{}, codepod.Errorf(codepod.EUNAVAILABLE, "%s", err)
		}
	}
	t0 := time.Now()
	if p.Build != nil {
		if err := r.buildImage(ctx, p, progress); err != nil {
			return wire.JobResult{}, err
		}
	} else {
		progress("preparing image " + p.Image)
		if err := r.cfg.Backend.EnsureImage(ctx, p.Image, progress); err != nil {
			return wire.JobResult{}, err
		}
	}
	progress("creating container")
	t1 := time.Now()
	fp, err := r.prepareDir(p)
	if err != nil {
		return wire.JobResult{}, err
	}
	if err := r.firewallReady(ctx, p); err != nil {
		return wire.JobResult{}, err
	}
	spec := r.containerSpec(p)
	if p.Workspace != nil {
		progress("fetching the workspace " + short(p.Workspace.Archive))
		tarPath, err := r.fetchBlob(ctx, p.ID, p.Workspace.Archive)
		if err != nil {
			return wire.JobResult{}, err
		}
		defer os.Remove(tarPath)
		spec.Workspace = &WorkspaceCopy{TarPath: tarPath, Folder: p.Workspace.Folder, User: workspaceUser(p.Devcontainer)}
		progress("creating container, copying the workspace into " + p.Workspace.Folder)
	}
	t2 := time.Now()
	cid, err := r.cfg.Backend.CreateSandbox(ctx, spec)
	if err != nil {
		return wire.JobResult{}, err
	}
	t3 := time.Now()
	if err := r.applyPolicy(ctx, p); err != nil {
		return wire.JobResult{}, err
	}
	progress("waiting for the agent")
	if err := r.waitReachable(ctx, p.ID, fp); err != nil {
		return wire.JobResult{}, err
	}
	if err := r.followLifecycle(ctx, p, progress); err != nil {
		return wire.JobResult{}, err
	}
	// Where a cold create's time goes (docs/benchmarks.md).
	r.log.Debug("sandbox created", "sandbox_id", p.ID, "image", t1.Sub(t0), "host_dir", t2.Sub(t1),
		"container", t3.Sub(t2), "agent_ready", time.Since(t3))
	return wire.JobResult{HostKeyFingerprint: fp, ContainerID: cid}, nil
}

// start refreshes the host directory from the payload (when the job has
// one) and starts the existing container.
func (r *Runner) start(ctx context.Context, job wire.Job, progress func(string)) (wire.JobResult, error) {
	fp, err := r.fingerprint(job.SandboxID) // also: was it created here?
	if err != nil {
		return wire.JobResult{}, err
	}
	var p *wire.SandboxPayload
	if job.Sandbox != nil {
		if p, err = sandboxPayload(job); err != nil {
			return wire.JobResult{}, err
		}
		if fp, err = r.prepareDir(p); err != nil {
			return wire.JobResult{}, err
		}
		if err := r.firewallReady(ctx, p); err != nil {
			return wire.JobResult{}, err
		}
	}
	if err := r.allowDiskAtStart(ctx, job.SandboxID); err != nil {
		return wire.JobResult{}, err
	}
	cid, err := r.cfg.Backend.StartSandbox(ctx, job.SandboxID)
	if err != nil {
		return wire.JobResult{}, err
	}
	// A devcontainer hook's failure, or the disk watch's stop, was about
	// the previous run.
	if err := os.Remove(r.lifecycleFailedFile(job.SandboxID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return wire.JobResult{}, err
	}
	if p != nil {
		if err := r.applyPolicy(ctx, p); err != nil {
			return wire.JobResult{}, err
		}
	}
	if err := r.waitReachable(ctx, job.SandboxID, fp); err != nil {
		return wire.JobResult{}, err
	}
	if p != nil {
		if err := r.followLifecycle(ctx, p, progress); err != nil {
			return wire.JobResult{}, err
		}
	}
	return wire.JobResult{HostKeyFingerprint: fp, ContainerID: cid}, nil
}

// delete removes the container and then the host directory; both being
// gone already is success.
func (r *Runner) delete(ctx context.Context, id string) error {
	if err := r.removePolicy(ctx, id); err != nil {
		return err
	}
	if err := r.cfg.Backend.RemoveSandbox(ctx, id); err != nil {
		return err
	}
	return r.removeDir(id)
}

// openTunnel refreshes the sandbox's authorized keys from the job and hands
// the job to Config.Tunnels, which returns once the tunnel is connected, so
// the result is reported right after the dial-back.
func (r *Runner) openTunnel(ctx context.Context, job wire.Job) error {
	if job.Tunnel == nil || !strings.HasPrefix(job.Tunnel.Path, "/") || strings.HasPrefix(job.Tunnel.Path, "//") {
		return errors.New("tunnel job without a server-relative dial-back path")
	}
	dialURL, err := r.tunnelURL(job.Tunnel)
	if err != nil {
		return err
	}
	if err := validSandboxID(job.SandboxID); err != nil {
		return err
	}
	if err := r.writeAuthorizedKeys(job.SandboxID, job.Tunnel.AuthorizedKeys); err != nil {
		return err
	}
	return r.cfg.Tunnels.OpenTunnel(ctx, Tunnel{
		Job:        job,
		URL:        dialURL,
		Header:     http.Header{"Authorization": {"Bearer " + r.credential()}},
		HTTPClient: r.cfg.HTTPClient,
		DialAgent: func(ctx context.Context) (net.Conn, error) {
			return r.cfg.Backend.DialAgent(ctx, job.SandboxID)
		},
	})
}

// tunnelURL is where a tunnel job is dialed back: its absolute URL (the
// server replica that holds the client's side) when it names one, else the
// server URL + its path. The runner sends its credential there, so only an
// http or https URL with a host is accepted; the server choosing it is
// trusted like the server itself.
func (r *Runner) tunnelURL(t *wire.TunnelPayload) (string, error) {
	if t.URL == "" {
		return r.cfg.Server + t.Path, nil
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tunnel job with a dial-back URL that is not an absolute http(s) URL: %q", t.URL)
	}
	return t.URL, nil
}

// checkRuntime refuses a runtime the engine does not have (when the runner
// knows what it has), before anything is pulled or made.
func (r *Runner) checkRuntime(ctx context.Context, rt string) error {
	have := r.runtimes(ctx, false)
	if rt == "" || have == nil || slices.Contains(have, rt) {
		return nil
	}
	return codepod.Errorf(codepod.EINVALID, "runtime %q is not available on this runner (it has %s)", rt, strings.Join(have, ", "))
}

// containerSpec is what the backend needs for p's container.
func (r *Runner) containerSpec(p *wire.SandboxPayload) ContainerSpec {
	rt := p.Runtime
	if rt == "" {
		rt = r.cfg.Runtime
	}
	spec := ContainerSpec{
		SandboxID: p.ID, Name: p.Name, OwnerID: p.OwnerID, RunnerID: r.ID(), Image: p.Image,
		CPU: p.CPU, MemoryBytes: p.MemoryBytes, PidsLimit: p.PidsLimit, DiskBytes: p.DiskBytes, Env: p.Env,
		Network: p.Network, Policy: p.NetworkPolicy != nil, Runtime: rt, AgentBinary: r.cfg.AgentBinary,
		EtcDir: r.sandboxDir(p.ID) + "/etc", AgentsDir: r.agentsDir(),
	}
	d, _ := devcontainerOf(p) // checked by sandboxPayload
	applyDevcontainer(&spec, d)
	return spec
}

// sandboxPayload returns the job's payload, checked against its sandbox id.
func sandboxPayload(job wire.Job) (*wire.SandboxPayload, error) {
	p := job.Sandbox
	switch {
	case p == nil:
		return nil, fmt.Errorf("%s job without a sandbox payload", job.Kind)
	case p.ID == "":
		cp := *p
		cp.ID = job.SandboxID
		p = &cp
	case p.ID != job.SandboxID:
		return nil, fmt.Errorf("%s job for sandbox %s carries the payload of %s", job.Kind, job.SandboxID, p.ID)
	}
	if p.Image == "" {
		return nil, fmt.Errorf("%s job without an image", job.Kind)
	}
	if _, err := devcontainerOf(p); err != nil {
		return nil, err
	}
	if p.Network != codepod.NetworkNone && p.Network != codepod.NetworkBridge && p.Network != "" {
		return nil, codepod.Errorf(codepod.EINVALID, "network %q is not supported by this runner", p.Network)
	}
	return p, nil
}

// sandboxIDRE keeps ids safe as a container name and a path element.
var sandboxIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func validSandboxID(id string) error {
	if !sandboxIDRE.MatchString(id) {
		return fmt.Errorf("sandbox id %q is not a valid id", id)
	}
	return nil
}

// failureMessage is the text a failed job reports: a *codepod.Error's
// message, else the error's text, within the wire limit.
func failureMessage(err error) string {
	msg := err.Error()
	var ce *codepod.Error
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	if len(msg) > 4096 {
		msg = msg[:4093] + "..."
	}
	return msg
}

// workspaceUser is who owns a copied workspace: the devcontainer's
// remoteUser, else its containerUser, else "" (the image's USER).
func workspaceUser(dc json.RawMessage) string {
	var d struct {
		RemoteUser    string `json:"remoteUser"`
		ContainerUser string `json:"containerUser"`
	}
	if len(dc) == 0 || json.Unmarshal(dc, &d) != nil {
		return ""
	}
	if d.RemoteUser != "" {
		return d.RemoteUser
	}
	return d.ContainerUser
}
