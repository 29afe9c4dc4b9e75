// Package wire holds the JSON messages of the runner protocol, the contract
// between the server (package api) and runners (package runner). The server
// registers its runner operations with these types, so the OpenAPI spec, the
// server and the runner cannot drift apart.
//
// It is a leaf: it imports only the standard library.
//
// The protocol, all under /api/v1/runners and all plain HTTPS:
//
//	POST /runners/register            Bearer <registration token>  RegisterRequest → RegisterResponse
//	POST /runners/poll                Bearer <runner credential>   PollRequest → PollResponse (held up to WaitSeconds)
//	POST /runners/jobs/{id}/progress  Bearer <runner credential>   JobProgress → 204 (extends the lease)
//	POST /runners/jobs/{id}/result    Bearer <runner credential>   JobResult → 204 (applied once)
//	GET  /runners/blobs/{digest}      Bearer <runner credential>   ?sandbox=ID → the blob (a build context or workspace tar)
//	GET  /runners/tunnels/{id}        Bearer <runner credential>   WebSocket: the runner's end of a tunnel
//	GET  /runner/binary               Bearer <runner credential>   the server's own codepod binary (self-update)
//	GET  /runner/binary/sha256        Bearer <runner credential>   its SHA-256, hex
package wire

import (
	"encoding/json"
	"time"
)

// Job kinds, as in codepod.JobKind.
const (
	KindCreate = "create"
	KindStart  = "start"
	KindStop   = "stop"
	KindDelete = "delete"
	KindTunnel = "tunnel"
	// KindNetwork applies the payload's NetworkPolicy to a running
	// sandbox, without a restart.
	KindNetwork = "network"
	// KindNetLog asks what a sandbox's network policy refused; the result
	// carries JobResult.NetLog.
	KindNetLog = "netlog"
	// KindAgentUpgrade replaces the running sandbox's agent in place with
	// the runner's agent binary (docs/upgrades.md).
	KindAgentUpgrade = "agent_upgrade"
)

// Container states a runner reports.
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateMissing = "missing"
	// StateFailed: the runner stopped the container because what runs in
	// it failed (a devcontainer hook after the sandbox was ready); Reason
	// says why, and the server puts the sandbox in error.
	StateFailed = "failed"
)

// Capacity is what a runner offers. Zero means no limit.
type Capacity struct {
	Sandboxes   int   `json:"sandboxes" minimum:"0" doc:"Most sandboxes this runner hosts at once; 0 means no limit."`
	MemoryBytes int64 `json:"memory_bytes" minimum:"0" doc:"Total memory limit of the sandboxes it hosts, in bytes; 0 means no limit."`
}

// RegisterRequest introduces a new runner. It is sent with a registration
// token as the bearer credential.
type RegisterRequest struct {
	Name     string            `json:"name" minLength:"1" maxLength:"63" doc:"A name for the runner, e.g. its host name."`
	Labels   map[string]string `json:"labels,omitempty" doc:"Labels sandboxes can ask for."`
	Capacity Capacity          `json:"capacity"`
	Version  string            `json:"version,omitempty" maxLength:"64" doc:"The runner's CodePod version."`
	Runtimes []string          `json:"runtimes,omitempty" maxItems:"16" doc:"Sandbox runtimes this runner's engine has: runc, gvisor."`
}

// RegisterResponse carries the runner's own credential, shown this once.
type RegisterResponse struct {
	RunnerID   string `json:"runner_id"`
	Credential string `json:"credential" doc:"The runner's bearer credential for every later call. Keep it secret; it is not shown again."`
}

// SandboxState is one sandbox as the runner sees it on its Docker Engine.
type SandboxState struct {
	ID                 string `json:"id"`
	State              string `json:"state" enum:"running,stopped,missing,failed"`
	HostKeyFingerprint string `json:"host_key_fingerprint,omitempty"`
	// Why a container that is not running stopped, as the engine tells it.
	OOMKilled bool   `json:"oom_killed,omitempty" doc:"The kernel killed the sandbox's processes for want of memory."`
	ExitCode  int    `json:"exit_code,omitempty" doc:"Exit code of the sandbox's agent (PID 1) when it stopped."`
	Reason    string `json:"reason,omitempty" maxLength:"1024" doc:"Why the sandbox stopped, for the user, e.g. 'the sandbox ran out of memory (limit 512 MiB)'; empty after a clean stop."`
	// AgentVersion is the build version of the agent that last answered
	// in the sandbox (the runner reads it from the agent's SSH banner).
	AgentVersion string `json:"agent_version,omitempty" maxLength:"128" doc:"Version of the sandbox's agent, as it last answered the runner."`
}

// PollRequest asks for jobs and carries the runner's heartbeat.
type PollRequest struct {
	Capacity Capacity `json:"capacity"`
	Runtimes []string `json:"runtimes,omitempty" maxItems:"16" doc:"Sandbox runtimes this runner's engine has now: runc, gvisor."`
	// Sandboxes is the runner's full inventory when Reconcile is true: the
	// server deletes orphans and marks sandboxes it expected but that are not
	// listed.
	Sandboxes   []SandboxState `json:"sandboxes,omitempty"`
	Reconcile   bool           `json:"reconcile,omitempty" doc:"Sandboxes is the complete inventory: reconcile against it."`
	WaitSeconds int            `json:"wait_seconds,omitempty" minimum:"0" maximum:"60" doc:"How long the server may hold the request when no job is ready (default 25)."`
	MaxJobs     int            `json:"max_jobs,omitempty" minimum:"0" maximum:"100" doc:"Most jobs to lease at once (default 10)."`
	// WarmPools are the runner's warm pools and how many sandboxes each
	// holds ready now; absent when it keeps none.
	WarmPools []WarmPool `json:"warm_pools,omitempty" maxItems:"64" doc:"The runner's warm pools and their ready sandboxes."`
	// Version is the runner's build version; the server records it when it
	// changes (a runner that updated itself reports its new version).
	Version string `json:"version,omitempty" maxLength:"64" doc:"The runner's CodePod version."`
}

// WarmPool is one of a runner's warm pools: Size sandboxes of one image
// and shape kept started, for creates that match it exactly (and set no
// environment).
type WarmPool struct {
	Image       string  `json:"image" maxLength:"255"`
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	Network     string  `json:"network" maxLength:"16"`
	Runtime     string  `json:"runtime" maxLength:"32"`
	Size        int     `json:"size" minimum:"0" doc:"Sandboxes the runner keeps ready."`
	Ready       int     `json:"ready" minimum:"0" doc:"Sandboxes ready now."`
}

// PollResponse carries zero or more leased jobs. An empty list after the wait
// is normal: poll again.
type PollResponse struct {
	Jobs []Job `json:"jobs"`
	// ServerVersion is the server's build version: a runner started with
	// --auto-update replaces itself with the server's binary when it differs.
	ServerVersion string `json:"server_version,omitempty" doc:"The server's CodePod version; a runner with --auto-update updates itself when its own differs."`
}

// Job is a leased unit of work. The runner must report a result before
// LeaseExpiresAt (or extend the lease with progress), else the job is
// delivered again. Delivery is at least once: handlers are idempotent by
// sandbox id.
type Job struct {
	ID             string          `json:"id"`
	Kind           string          `json:"kind" enum:"create,start,stop,delete,tunnel,network,netlog,agent_upgrade"`
	SandboxID      string          `json:"sandbox_id"`
	LeaseExpiresAt time.Time       `json:"lease_expires_at"`
	Attempt        int             `json:"attempt" doc:"1 for the first delivery."`
	Sandbox        *SandboxPayload `json:"sandbox,omitempty" doc:"The sandbox to act on (create, start, stop, delete)."`
	Tunnel         *TunnelPayload  `json:"tunnel,omitempty" doc:"The tunnel to dial back (tunnel jobs)."`
}

// SandboxPayload is everything a runner needs to make a sandbox's container.
type SandboxPayload struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	OwnerID     string            `json:"owner_id"`
	Image       string            `json:"image"`
	CPU         float64           `json:"cpu"`
	MemoryBytes int64             `json:"memory_bytes"`
	PidsLimit   int64             `json:"pids_limit"`
	DiskBytes   int64             `json:"disk_bytes,omitempty" doc:"Most the sandbox may write to its file system; 0: the runner's default (10g)."`
	Env         map[string]string `json:"env,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Network     string            `json:"network" enum:"none,bridge"`
	Runtime     string            `json:"runtime,omitempty" doc:"Sandbox runtime: runc or gvisor; empty takes the runner's default."`
	// NetworkPolicy, when set, puts the sandbox on the runner's policy
	// network and is enforced by the runner's firewall.
	NetworkPolicy *PolicyPayload `json:"network_policy,omitempty" doc:"What the sandbox may reach; absent: the plain network mode."`
	// SSHSecret is the key the agent checks SSH tokens with (see package
	// agent/token). The runner writes it where only the agent reads it.
	SSHSecret []byte `json:"ssh_secret,omitempty"`
	// AuthorizedKeys are the owner's SSH public keys, authorized_keys lines.
	AuthorizedKeys []string `json:"authorized_keys,omitempty"`
	// Devcontainer is the sandbox's codepod.DevcontainerSpec as JSON:
	// lifecycle, user, environment and mounts the runner and agent apply.
	Devcontainer json.RawMessage `json:"devcontainer,omitempty" doc:"The sandbox's devcontainer settings (codepod.DevcontainerSpec as JSON); absent for other sandboxes."`
	// Build, when set, is built into Image (its content-hash tag) unless
	// the runner has that image already; the context is fetched with
	// GET /api/v1/runners/blobs/{digest}?sandbox={id}.
	Build *BuildPayload `json:"build,omitempty" doc:"Build the image from an uploaded context instead of pulling it."`
	// Workspace is extracted into its folder before the container starts.
	Workspace *WorkspacePayload `json:"workspace,omitempty" doc:"A project archive copied into the container before it starts."`
}

// BuildPayload is codepod.BuildSpec on the wire.
type BuildPayload struct {
	Context    string            `json:"context" doc:"Digest of the build context tar (sha256:<hex>)."`
	Dockerfile string            `json:"dockerfile,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Target     string            `json:"target,omitempty"`
	CacheFrom  []string          `json:"cache_from,omitempty"`
	Image      string            `json:"image,omitempty" doc:"Base image when there is no Dockerfile."`
	Features   []FeaturePayload  `json:"features,omitempty"`
}

// FeaturePayload is codepod.BuildFeature on the wire.
type FeaturePayload struct {
	ID           string            `json:"id"`
	Dir          string            `json:"dir"`
	Env          map[string]string `json:"env,omitempty"`
	ContainerEnv map[string]string `json:"container_env,omitempty"`
}

// WorkspacePayload is codepod.WorkspaceSpec on the wire.
type WorkspacePayload struct {
	Archive string `json:"archive" doc:"Digest of the workspace tar (sha256:<hex>)."`
	Folder  string `json:"folder" doc:"Absolute path in the container."`
}

// PolicyPayload is codepod.NetworkPolicy on the wire: entries are already
// checked and canonical (IPv4 address or CIDR, optionally :port).
type PolicyPayload struct {
	Mode  string   `json:"mode" enum:"none,internet,allow"`
	Allow []string `json:"allow,omitempty" maxItems:"256"`
	Deny  []string `json:"deny,omitempty" maxItems:"256"`
	// Version orders policy changes (the sandbox's version when it was
	// set): a runner never replaces a policy with an older one.
	Version int64 `json:"version,omitempty"`
}

// NetDenial counts the refused connections of one sandbox to one
// destination (an address, range or rule of its policy).
type NetDenial struct {
	Destination string `json:"destination" doc:"What was refused: an address or CIDR, maybe with a port, or 'any other destination'."`
	Reason      string `json:"reason" doc:"Which rule refused it: deny, private, not-allowed, host."`
	Packets     int64  `json:"packets" doc:"Refused packets (each refused connection attempt counts at least one)."`
	// Name, Address, Port and Time are set on refusals of the egress
	// proxy and DNS responder (reason "domain"), one entry per refusal.
	Name    string     `json:"name,omitempty" doc:"The name the sandbox asked for (DNS query, HTTP Host or TLS SNI), for reason domain."`
	Address string     `json:"address,omitempty" doc:"The address the sandbox connected to, for reason domain."`
	Port    int        `json:"port,omitempty" doc:"The port the sandbox connected to (53 for DNS), for reason domain."`
	Time    *time.Time `json:"time,omitempty" doc:"When it was refused, for reason domain."`
}

// TunnelPayload asks the runner to connect a new tunnel to a sandbox's agent.
type TunnelPayload struct {
	TunnelID string `json:"tunnel_id"`
	// Path is where the runner dials back, relative to the server URL
	// (e.g. /api/v1/runners/tunnels/<id>).
	Path string `json:"path"`
	// URL, when set, is the absolute dial-back URL (http or https) on the
	// server replica that holds the client's side of the tunnel; the runner
	// dials it instead of its server URL + Path. A server can thus direct
	// its runners' dial-backs (with their credential) elsewhere: runners
	// trust their server anyway.
	URL            string   `json:"url,omitempty" doc:"Absolute dial-back URL (http or https) on the replica holding the client side; when set the runner dials it instead of its server URL + path."`
	AuthorizedKeys []string `json:"authorized_keys,omitempty"`
}

// JobProgress reports that a job is still going (e.g. an image pull); it
// extends the lease and shows Message as the sandbox's reason.
type JobProgress struct {
	Message string `json:"message,omitempty" maxLength:"1024"`
}

// JobResult ends a job. Reporting the same result twice is harmless.
type JobResult struct {
	OK                 bool   `json:"ok" doc:"Whether the job succeeded."`
	Error              string `json:"error,omitempty" maxLength:"4096" doc:"Why it failed, for the user."`
	HostKeyFingerprint string `json:"host_key_fingerprint,omitempty" doc:"SHA256 fingerprint of the agent's host key (create, start)."`
	ContainerID        string `json:"container_id,omitempty"`
	// Adopted: the create was served from a warm pool (the server opens
	// its SSH connection to the sandbox at once, for the first exec).
	Adopted      bool   `json:"adopted,omitempty" doc:"The create adopted a warm-pool sandbox."`
	AgentVersion string `json:"agent_version,omitempty" maxLength:"128" doc:"The version of the sandbox's agent after an agent_upgrade job."`
	// NetLog answers a netlog job.
	NetLog []NetDenial `json:"net_log,omitempty" maxItems:"1024" doc:"What the sandbox's network policy refused (netlog jobs)."`
}
