package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
)

// Sandbox is a sandbox as the API shows it. Its SSH secret never leaves the
// server this way.
type Sandbox struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	OwnerID            string            `json:"owner_id"`
	WorkspaceID        string            `json:"workspace_id" doc:"The workspace it belongs to (docs/workspaces.md)."`
	Status             string            `json:"status" enum:"pending,creating,running,stopping,stopped,starting,deleting,deleted,error,lost"`
	Reason             string            `json:"reason" doc:"Why it is pending, in error or lost; empty otherwise."`
	Image              string            `json:"image"`
	CPU                float64           `json:"cpu" doc:"CPU cores."`
	Memory             string            `json:"memory" doc:"Memory limit, human-readable (\"512m\")."`
	MemoryBytes        int64             `json:"memory_bytes" doc:"Memory limit in bytes."`
	PidsLimit          int64             `json:"pids_limit"`
	Disk               string            `json:"disk" doc:"Most it may write to its file system, human-readable (\"10g\"); its runner stops it past that."`
	DiskBytes          int64             `json:"disk_bytes" doc:"The disk limit in bytes; 0 for a sandbox made before disk limits (its runner applies 10g)."`
	Env                map[string]string `json:"env"`
	Labels             map[string]string `json:"labels"`
	RunnerLabels       map[string]string `json:"runner_labels"`
	Network            string            `json:"network" enum:"none,bridge"`
	Runtime            string            `json:"runtime" enum:"runc,gvisor" doc:"runc: namespaces and cgroups; gvisor: gVisor's user-space kernel."`
	NetworkPolicy      *NetworkPolicy    `json:"network_policy,omitempty" doc:"What the sandbox may reach; absent for sandboxes made with a plain network mode."`
	TTLSeconds         int64             `json:"ttl_seconds" doc:"Lifetime from creation; 0: none."`
	ExpiresAt          *time.Time        `json:"expires_at,omitempty" doc:"When the TTL ends it; absent without a TTL."`
	IdleTimeoutSeconds int64             `json:"idle_timeout_seconds" doc:"Stopped after this long without activity (sessions, preview traffic, processes beside the agent); 0: never."`
	IdleAt             *time.Time        `json:"idle_at,omitempty" doc:"When it counts as idle unless there is activity before; absent without an idle timeout."`
	Ports              []Port            `json:"ports,omitempty" doc:"Its open preview ports (get-sandbox only)."`
	RunnerID           string            `json:"runner_id" doc:"The runner hosting it; empty until placed."`
	HostKeyFingerprint string            `json:"host_key_fingerprint" doc:"SHA256 fingerprint of its SSH host key, once known: pin it."`
	AgentVersionSkew   bool              `json:"agent_version_skew" doc:"Its agent's version is known and differs from the server's (get and list only)."`
	AgentVersion       string            `json:"agent_version" doc:"Version of its agent as its runner last reported it; empty until reported. It differs from the server's after an upgrade until the agent is replaced (at its next start, or in place: docs/upgrades.md)."`
	Devcontainer       map[string]any    `json:"devcontainer,omitempty" doc:"What it keeps of a devcontainer.json (forwardPorts, portsAttributes, lifecycle commands, …; filtered lists the properties the server's policy dropped); absent for other sandboxes."`
	WorkspaceFolder    string            `json:"workspace_folder,omitempty" doc:"Where the project copied at create lives (sandbox sync updates it); absent without one."`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
}

// diskString is a disk limit as the API shows it; "" for none recorded.
func diskString(n int64) string {
	if n == 0 {
		return ""
	}
	return codepod.FormatBytes(n)
}

// withSkew sets AgentVersionSkew against the server's version.
func (x Sandbox) withSkew(serverVersion string) Sandbox {
	x.AgentVersionSkew = x.AgentVersion != "" && x.AgentVersion != serverVersion
	return x
}

func newSandbox(sb *codepod.Sandbox) Sandbox {
	ws := ""
	if sb.Spec.Workspace != nil {
		ws = sb.Spec.Workspace.Folder
	}
	return Sandbox{
		WorkspaceFolder: ws,
		ID:              sb.ID, Name: sb.Name, OwnerID: sb.OwnerID, WorkspaceID: sb.WorkspaceID, Status: string(sb.Status), Reason: sb.Reason,
		Image: sb.Spec.Image, CPU: sb.Spec.CPU,
		Memory: codepod.FormatBytes(sb.Spec.MemoryBytes), MemoryBytes: sb.Spec.MemoryBytes,
		PidsLimit: sb.Spec.PidsLimit, Disk: diskString(sb.Spec.DiskBytes), DiskBytes: sb.Spec.DiskBytes, Env: nonNil(sb.Spec.Env), Labels: nonNil(sb.Spec.Labels),
		RunnerLabels: nonNil(sb.Spec.RunnerLabels), Network: sb.Spec.Network, Runtime: runtimeOf(sb.Spec),
		NetworkPolicy: apiPolicy(sb.Spec.NetworkPolicy),
		TTLSeconds:    int64(sb.Spec.TTL / time.Second), ExpiresAt: sb.ExpiresAt,
		IdleTimeoutSeconds: int64(sb.Spec.IdleTimeout / time.Second), IdleAt: sb.IdleAt,
		RunnerID: sb.RunnerID, HostKeyFingerprint: sb.HostKeyFingerprint, AgentVersion: sb.AgentVersion,
		Devcontainer: devcontainerMap(sb.Spec.Devcontainer),
		CreatedAt:    sb.CreatedAt, UpdatedAt: sb.UpdatedAt,
	}
}

// CreateSandboxRequest asks for a sandbox. Every field is optional; the
// server fills defaults (image codepod/base:latest, 1 cpu, 512m, network
// none, no TTL).
type CreateSandboxRequest struct {
	Name          string            `json:"name,omitempty" maxLength:"63" doc:"1-63 lowercase letters, digits or '-', unique among your sandboxes; generated when absent."`
	Image         string            `json:"image,omitempty" maxLength:"255" doc:"Image reference (default codepod/base:latest)."`
	CPU           float64           `json:"cpu,omitempty" doc:"CPU cores, may be fractional (default 1)."`
	Memory        string            `json:"memory,omitempty" maxLength:"32" doc:"Memory limit with a unit, e.g. \"512m\" or \"2g\" (default 512m)."`
	PidsLimit     int64             `json:"pids_limit,omitempty" doc:"Most processes at once (default 512)."`
	Disk          string            `json:"disk,omitempty" maxLength:"32" doc:"Most the sandbox may write to its file system, with a unit, e.g. \"20g\" (default 10g, at least 16m, at most the server's --max-disk). Its runner checks every few seconds and stops a sandbox past it, in error with the reason (docs/isolation.md)."`
	Env           map[string]string `json:"env,omitempty" doc:"Environment variables of every process in the sandbox."`
	Labels        map[string]string `json:"labels,omitempty" doc:"Your labels, to filter lists by."`
	TTL           string            `json:"ttl,omitempty" maxLength:"32" doc:"Lifetime as a Go duration (\"30m\", \"1h\"); the sandbox is deleted when it ends. Absent: none."`
	IdleTimeout   string            `json:"idle_timeout,omitempty" maxLength:"32" doc:"Stop the sandbox after this long without activity (open sessions, preview traffic, processes beside the agent), as a Go duration (\"10m\"); at least 1s. Absent: never."`
	Network       string            `json:"network,omitempty" enum:"none,bridge" doc:"none: loopback only (default); bridge: an isolated bridge with outbound access."`
	RunnerLabels  map[string]string `json:"runner_labels,omitempty" doc:"Labels the hosting runner must carry."`
	Runtime       string            `json:"runtime,omitempty" enum:"runc,gvisor" doc:"runc (the default unless the server sets another): Linux namespaces and cgroups; gvisor: gVisor's user-space kernel, placed only on runners that have it."`
	NetworkPolicy *NetworkPolicy    `json:"network_policy,omitempty" doc:"What the sandbox may reach, enforced on its runner (docs/network.md). Puts it on the runner's policy network; changeable while it runs (PUT /sandboxes/{id}/network-policy)."`
	Devcontainer  map[string]any    `json:"devcontainer,omitempty" doc:"What the sandbox keeps of a devcontainer.json: lifecycle commands (onCreateCommand … postAttachCommand, waitFor), remoteUser, containerUser, remoteEnv, workspaceFolder, forwardPorts, portsAttributes, overrideCommand, shutdownAction, hostRequirements ({cpus, memory_bytes, storage_bytes}), mounts (named volumes). privileged, capAdd, securityOpt, runArgs, bind mounts and initializeCommand are refused (or dropped and listed, under the server's filter policy). See docs/devcontainers.md."`
	Build         *BuildRequest     `json:"build,omitempty" doc:"Build the image on the runner from an uploaded context (PUT /blobs/{digest}) instead of pulling image; cached by content hash (docs/devcontainers.md)."`
	Workspace     *WorkspaceRequest `json:"workspace,omitempty" doc:"Copy an uploaded tar (PUT /blobs/{digest}) into a folder of the sandbox before it starts."`
}

// BuildRequest is codepod.BuildSpec in the API.
type BuildRequest struct {
	Context    string            `json:"context" pattern:"^sha256:[a-f0-9]{64}$" doc:"Digest of the uploaded build context tar."`
	Dockerfile string            `json:"dockerfile,omitempty" maxLength:"1024" doc:"The Dockerfile's path in the context; absent with image set: no Dockerfile, features go on image."`
	Args       map[string]string `json:"args,omitempty" doc:"Build arguments."`
	Target     string            `json:"target,omitempty" maxLength:"128" doc:"The stage to build."`
	CacheFrom  []string          `json:"cache_from,omitempty" maxItems:"16" doc:"Images to use as cache sources."`
	Image      string            `json:"image,omitempty" maxLength:"255" doc:"The base image when there is no Dockerfile."`
	Features   []BuildFeature    `json:"features,omitempty" maxItems:"64" doc:"Local dev container features, installed in this order."`
}

// BuildFeature is one local dev container feature whose files are in the
// build context.
type BuildFeature struct {
	ID           string            `json:"id" maxLength:"1024" doc:"The feature as devcontainer.json names it."`
	Dir          string            `json:"dir" maxLength:"1024" doc:"Its folder in the build context (with install.sh)."`
	Env          map[string]string `json:"env,omitempty" doc:"Its options as install.sh's environment (upper-cased names, defaults filled in)."`
	ContainerEnv map[string]string `json:"container_env,omitempty" doc:"Environment baked into the image after it is installed."`
}

// WorkspaceRequest is codepod.WorkspaceSpec in the API.
type WorkspaceRequest struct {
	Archive string `json:"archive" pattern:"^sha256:[a-f0-9]{64}$" doc:"Digest of the uploaded tar."`
	Folder  string `json:"folder" maxLength:"1024" doc:"Absolute path in the sandbox, e.g. /workspaces/project."`
}

func (b *BuildRequest) domain() *codepod.BuildSpec {
	if b == nil {
		return nil
	}
	d := &codepod.BuildSpec{Context: b.Context, Dockerfile: b.Dockerfile, Args: b.Args, Target: b.Target, CacheFrom: b.CacheFrom, Image: b.Image}
	for _, f := range b.Features {
		d.Features = append(d.Features, codepod.BuildFeature{ID: f.ID, Dir: f.Dir, Env: f.Env, ContainerEnv: f.ContainerEnv})
	}
	return d
}

func (w *WorkspaceRequest) domain() *codepod.WorkspaceSpec {
	if w == nil {
		return nil
	}
	return &codepod.WorkspaceSpec{Archive: w.Archive, Folder: w.Folder}
}

// NetworkPolicy says what a sandbox may reach: deny entries first, then
// allow entries, then the mode.
type NetworkPolicy struct {
	Mode  string   `json:"mode" enum:"none,internet,allow" doc:"none: nothing; internet: public addresses only (private, link-local/metadata, CGNAT, loopback and the runner host refused); allow: only the allow list."`
	Allow []string `json:"allow,omitempty" maxItems:"256" doc:"IPv4 addresses or CIDRs, optionally with :port (203.0.113.0/24, 198.51.100.7:443), reachable whatever the mode (the runner host never is); under mode allow also domain names (api.example.com, *.example.com for the names below it, optionally :port), resolved and reached over HTTP (80) and HTTPS (443) through the runner's egress proxy."`
	Deny  []string `json:"deny,omitempty" maxItems:"256" doc:"IPv4 addresses or CIDRs, optionally with :port, refused before anything else; under modes internet and allow also domain names (exact or *.example.com), whose DNS answers and HTTP (80) and HTTPS (443) connections the runner's egress proxy refuses."`
}

func apiPolicy(p *codepod.NetworkPolicy) *NetworkPolicy {
	if p == nil {
		return nil
	}
	return &NetworkPolicy{Mode: p.Mode, Allow: nonNilList(p.Allow), Deny: nonNilList(p.Deny)}
}

func (p *NetworkPolicy) domain() *codepod.NetworkPolicy {
	if p == nil {
		return nil
	}
	return &codepod.NetworkPolicy{Mode: p.Mode, Allow: p.Allow, Deny: p.Deny}
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// runtimeOf is the sandbox's runtime; sandboxes made before runtimes
// existed ran under runc.
func runtimeOf(spec codepod.SandboxSpec) string {
	if spec.Runtime == "" {
		return codepod.RuntimeRunc
	}
	return spec.Runtime
}

// spec turns the request into a domain spec; limits and defaults are
// control's to apply.
func (r *CreateSandboxRequest) spec() (codepod.SandboxSpec, error) {
	spec := codepod.SandboxSpec{
		Image: strings.TrimSpace(r.Image), CPU: r.CPU, PidsLimit: r.PidsLimit,
		Env: r.Env, Labels: r.Labels, Network: r.Network, RunnerLabels: r.RunnerLabels,
		Runtime: r.Runtime, NetworkPolicy: r.NetworkPolicy.domain(),
		Build: r.Build.domain(), Workspace: r.Workspace.domain(),
	}
	if r.Devcontainer != nil {
		d, err := devcontainerSpec(r.Devcontainer)
		if err != nil {
			return spec, err
		}
		spec.Devcontainer = d
	}
	if r.Memory != "" {
		n, err := codepod.ParseBytes(r.Memory)
		if err != nil {
			return spec, codepod.Errorf(codepod.EINVALID, "memory %q must be a size with a unit, e.g. 512m or 2g", r.Memory)
		}
		spec.MemoryBytes = n
	}
	if r.Disk != "" {
		n, err := codepod.ParseBytes(r.Disk)
		if err != nil {
			return spec, codepod.Errorf(codepod.EINVALID, "disk %q must be a size with a unit, e.g. 10g or 512m", r.Disk)
		}
		spec.DiskBytes = n
	}
	if r.TTL != "" {
		d, err := time.ParseDuration(strings.TrimSpace(r.TTL))
		if err != nil || d <= 0 {
			return spec, codepod.Errorf(codepod.EINVALID, "ttl %q must be a positive duration such as 30m or 1h", r.TTL)
		}
		spec.TTL = d
	}
	if r.IdleTimeout != "" {
		d, err := parseDuration("idle_timeout", r.IdleTimeout)
		if err != nil {
			return spec, err
		}
		spec.IdleTimeout = d
	}
	return spec, nil
}

// devcontainerSpec reads the request's devcontainer object strictly: an
// unknown property is an error naming it, as for the rest of the body.
func devcontainerSpec(m map[string]any) (*codepod.DevcontainerSpec, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, codepod.Errorf(codepod.EINVALID, "devcontainer: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d codepod.DevcontainerSpec
	if err := dec.Decode(&d); err != nil {
		return nil, codepod.Errorf(codepod.EINVALID, "devcontainer: %v (see docs/devcontainers.md for its properties)", err)
	}
	return &d, nil
}

// devcontainerMap is d as a JSON object, nil for nil.
func devcontainerMap(d *codepod.DevcontainerSpec) map[string]any {
	if d == nil {
		return nil
	}
	b, _ := json.Marshal(d)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}
