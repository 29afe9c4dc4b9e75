package api

import (
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
	Status             string            `json:"status" enum:"pending,creating,running,stopping,stopped,starting,deleting,deleted,error,lost"`
	Reason             string            `json:"reason" doc:"Why it is pending, in error or lost; empty otherwise."`
	Image              string            `json:"image"`
	CPU                float64           `json:"cpu" doc:"CPU cores."`
	Memory             string            `json:"memory" doc:"Memory limit, human-readable (\"512m\")."`
	MemoryBytes        int64             `json:"memory_bytes" doc:"Memory limit in bytes."`
	PidsLimit          int64             `json:"pids_limit"`
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
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
}

func newSandbox(sb *codepod.Sandbox) Sandbox {
	return Sandbox{
		ID: sb.ID, Name: sb.Name, OwnerID: sb.OwnerID, Status: string(sb.Status), Reason: sb.Reason,
		Image: sb.Spec.Image, CPU: sb.Spec.CPU,
		Memory: codepod.FormatBytes(sb.Spec.MemoryBytes), MemoryBytes: sb.Spec.MemoryBytes,
		PidsLimit: sb.Spec.PidsLimit, Env: nonNil(sb.Spec.Env), Labels: nonNil(sb.Spec.Labels),
		RunnerLabels: nonNil(sb.Spec.RunnerLabels), Network: sb.Spec.Network, Runtime: runtimeOf(sb.Spec),
		NetworkPolicy: apiPolicy(sb.Spec.NetworkPolicy),
		TTLSeconds:    int64(sb.Spec.TTL / time.Second), ExpiresAt: sb.ExpiresAt,
		IdleTimeoutSeconds: int64(sb.Spec.IdleTimeout / time.Second), IdleAt: sb.IdleAt,
		RunnerID: sb.RunnerID, HostKeyFingerprint: sb.HostKeyFingerprint,
		CreatedAt: sb.CreatedAt, UpdatedAt: sb.UpdatedAt,
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
	Env           map[string]string `json:"env,omitempty" doc:"Environment variables of every process in the sandbox."`
	Labels        map[string]string `json:"labels,omitempty" doc:"Your labels, to filter lists by."`
	TTL           string            `json:"ttl,omitempty" maxLength:"32" doc:"Lifetime as a Go duration (\"30m\", \"1h\"); the sandbox is deleted when it ends. Absent: none."`
	IdleTimeout   string            `json:"idle_timeout,omitempty" maxLength:"32" doc:"Stop the sandbox after this long without activity (open sessions, preview traffic, processes beside the agent), as a Go duration (\"10m\"); at least 1s. Absent: never."`
	Network       string            `json:"network,omitempty" enum:"none,bridge" doc:"none: loopback only (default); bridge: an isolated bridge with outbound access."`
	RunnerLabels  map[string]string `json:"runner_labels,omitempty" doc:"Labels the hosting runner must carry."`
	Runtime       string            `json:"runtime,omitempty" enum:"runc,gvisor" doc:"runc (the default unless the server sets another): Linux namespaces and cgroups; gvisor: gVisor's user-space kernel, placed only on runners that have it."`
	NetworkPolicy *NetworkPolicy    `json:"network_policy,omitempty" doc:"What the sandbox may reach, enforced on its runner (docs/network.md). Puts it on the runner's policy network; changeable while it runs (PUT /sandboxes/{id}/network-policy)."`
}

// NetworkPolicy says what a sandbox may reach: deny entries first, then
// allow entries, then the mode.
type NetworkPolicy struct {
	Mode  string   `json:"mode" enum:"none,internet,allow" doc:"none: nothing; internet: public addresses only (private, link-local/metadata, CGNAT, loopback and the runner host refused); allow: only the allow list."`
	Allow []string `json:"allow,omitempty" maxItems:"256" doc:"IPv4 addresses or CIDRs, optionally with :port (203.0.113.0/24, 198.51.100.7:443), reachable whatever the mode (the runner host never is); under mode allow also domain names (api.example.com, *.example.com for the names below it, optionally :port), resolved and reached over HTTP (80) and HTTPS (443) through the runner's egress proxy."`
	Deny  []string `json:"deny,omitempty" maxItems:"256" doc:"IPv4 addresses or CIDRs, optionally with :port, refused before anything else."`
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
	}
	if r.Memory != "" {
		n, err := codepod.ParseBytes(r.Memory)
		if err != nil {
			return spec, codepod.Errorf(codepod.EINVALID, "memory %q must be a size with a unit, e.g. 512m or 2g", r.Memory)
		}
		spec.MemoryBytes = n
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
