package runner

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

// Backend runs sandbox containers. Package runner/docker implements it on
// the Docker Engine; it is the only code that talks to the engine.
//
// Every method is idempotent by sandbox id: the runner may call it again for
// a job delivered twice.
type Backend interface {
	// EnsureImage makes ref available locally, pulling it when it is missing.
	// progress (never nil) receives human-readable pull progress. When the
	// image is neither local nor pullable the error is a *codepod.Error whose
	// message names the image and the reason.
	EnsureImage(ctx context.Context, ref string, progress func(msg string)) error
	// CreateSandbox makes sure the sandbox's container exists and runs, and
	// returns its container id. A second call finds the first container and
	// never makes another.
	CreateSandbox(ctx context.Context, spec ContainerSpec) (containerID string, err error)
	// StartSandbox starts the sandbox's existing container (a no-op when it
	// runs). A missing container is an ENOTFOUND *codepod.Error.
	StartSandbox(ctx context.Context, sandboxID string) (containerID string, err error)
	// StopSandbox stops the container, killing it after timeout. A stopped or
	// missing container is success.
	StopSandbox(ctx context.Context, sandboxID string, timeout time.Duration) error
	// RemoveSandbox removes the container by force. A missing one is success.
	RemoveSandbox(ctx context.Context, sandboxID string) error
	// ListSandboxes returns every container labelled with runnerID, running
	// or not.
	ListSandboxes(ctx context.Context, runnerID string) ([]ContainerState, error)
	// DiskUsage measures what every running sandbox of runnerID holds (its
	// writable layer and named volumes), with its disk limit (the runner's
	// disk watch).
	DiskUsage(ctx context.Context, runnerID string) ([]DiskUsage, error)
	// DiskUsed measures what one sandbox holds, running or not. A missing
	// container is an ENOTFOUND *codepod.Error.
	DiskUsed(ctx context.Context, sandboxID string) (int64, error)
	// MemoryBytes is the host's total memory, for the default capacity.
	MemoryBytes(ctx context.Context) (int64, error)
	// Runtimes lists the CodePod runtimes the engine has ("runc",
	// "gvisor"), which the runner advertises to the server.
	Runtimes(ctx context.Context) ([]string, error)
	// DialAgent connects to the agent of a running sandbox (an SSH server).
	// It never opens a path inside a directory the sandbox can write; the
	// Docker backend dials from inside the container's network namespace
	// (docs/security-channel.md). A sandbox that does not run is an
	// EUNAVAILABLE *codepod.Error.
	DialAgent(ctx context.Context, sandboxID string) (net.Conn, error)
	// SandboxAddr is the address of a running sandbox on the policy network
	// (created with ContainerSpec.Policy), which the Firewall matches on.
	SandboxAddr(ctx context.Context, sandboxID string) (netip.Addr, error)
}

// Firewall enforces sandboxes' network policies outside their reach (in
// the host's network namespace). Package runner/netpolicy implements it
// with iptables. Every method is idempotent; a sandbox without rules
// reaches nothing on the policy network (fail closed).
type Firewall interface {
	// Ready makes the shared rules that refuse everything from the policy
	// network not yet covered by Apply; called before a policy sandbox
	// starts, so it never runs unrestricted.
	Ready(ctx context.Context) error
	// Apply makes p the policy of sandbox id at addr, replacing any rules
	// it had (also at another address). A policy older (by Version) than
	// the one applied is ignored.
	Apply(ctx context.Context, sandboxID string, addr netip.Addr, p *wire.PolicyPayload) error
	// Remove deletes every rule of the sandbox; none is success.
	Remove(ctx context.Context, sandboxID string) error
	// Denied counts the connections the sandbox's rules refused, per
	// destination (rule), most first.
	Denied(ctx context.Context, sandboxID string) ([]wire.NetDenial, error)
}

// DiskUsage is what a running sandbox holds on the runner's disk.
type DiskUsage struct {
	SandboxID   string
	ContainerID string
	Used        int64 // bytes in its writable layer and named volumes
	Limit       int64 // its disk limit; 0 for a container made before disk limits
}

// ContainerSpec is everything a Backend needs to make a sandbox's container.
type ContainerSpec struct {
	SandboxID string
	Name      string // the sandbox's name, used as the host name
	OwnerID   string
	RunnerID  string
	Image     string

	CPU         float64 // cores
	MemoryBytes int64   // hard limit; swap is not granted on top
	PidsLimit   int64
	// DiskBytes bounds the container's writable layer and named volumes
	// together: the runner stops the sandbox when they hold more (0:
	// codepod.DefaultLimits.DefaultDisk).
	DiskBytes int64
	Env       map[string]string
	Network   string // codepod.NetworkNone or codepod.NetworkBridge
	// Policy puts the container on the policy network, where the runner's
	// Firewall decides what it reaches (whatever Network says).
	Policy  bool
	Runtime string // OCI runtime, e.g. "runsc"; "" is the engine's default

	// Pool, when set, makes a warm-pool member: SandboxID is then the
	// member's id ("pool-…"), Pool the pool's key, and the container
	// carries no sandbox or owner label until a create adopts it.
	Pool string

	// NoImageCommand runs only the agent, not the image's ENTRYPOINT/CMD
	// (a devcontainer's overrideCommand, true by default).
	NoImageCommand bool
	// Volumes are named volumes made for this sandbox (devcontainer
	// mounts of type volume), removed with it.
	Volumes []Volume
	// Workspace, when set, is copied into the container after it is
	// created and before it first starts.
	Workspace *WorkspaceCopy

	// Host paths mounted into the container.
	AgentBinary string // read-only at /.codepod/bin/codepod-agent, the entrypoint
	EtcDir      string // read-only at /.codepod/etc
	// AgentsDir holds the agent binaries an in-place upgrade hands over
	// to, read-only at /.codepod/agents; only the runner writes it.
	AgentsDir string
	RunDir    string // read-write at /.codepod/run (the agent's socket)
}

// WorkspaceCopy is a project archive to extract into a new container.
type WorkspaceCopy struct {
	TarPath string // the tar on the runner's host
	Folder  string // absolute path in the container
	// User owns the files (a name or uid as in USER, resolved in the
	// container's /etc/passwd); "" is the image's USER, else root.
	User string
}

// ImageBuilder is what a Backend needs to build sandbox images from a
// build context (codepod.BuildSpec); runner/docker's Backend has it.
type ImageBuilder interface {
	// ImageID is the id of the local image ref, "" when there is none.
	ImageID(ctx context.Context, ref string) (string, error)
	// BuildImage builds req.Tag, handing each line of the builder's output
	// to progress. A failed build is an EINVALID *codepod.Error carrying the
	// failing step and its last output.
	BuildImage(ctx context.Context, req BuildRequest, progress func(string)) error
}

// BuildRequest is one image build.
type BuildRequest struct {
	Tag         string
	ContextPath string // the context tar on the runner's host
	// ExtraFile, when set, is added to the context (replacing any file of
	// that name) with ExtraContent: a generated Dockerfile.
	ExtraFile    string
	ExtraContent []byte
	// DropPrefix, when set, leaves the context's entries below it out
	// (the features' folders, from the Dockerfile's build).
	DropPrefix  string
	Dockerfile  string // path in the context
	Args        map[string]string
	Target      string
	CacheFrom   []string
	NetworkMode string  // the build's RUN steps: "none" or "default"
	CPU         float64 // bounds of the build's RUN steps (0: none)
	MemoryBytes int64
}

// ContainerState is one container a Backend found.
type ContainerState struct {
	SandboxID   string
	ContainerID string
	Running     bool
	// Why a container that does not run stopped, when the engine says:
	// OOMKilled when the kernel killed it for want of memory, ExitCode the
	// agent's exit code, and Reason a sentence for the user ("the sandbox
	// ran out of memory (limit 512 MiB)"); "" after a clean stop.
	OOMKilled bool
	ExitCode  int
	Reason    string
}

// Tunneler connects tunnel jobs: it dials Tunnel.URL (a WebSocket on the
// server) and splices it to a connection to the sandbox's agent. WSTunneler is the
// runner's own; tests may put a function in its place.
type Tunneler interface {
	// OpenTunnel returns once the tunnel is connected (nil) or has failed.
	// It keeps serving a connected tunnel in its own goroutines until the
	// tunnel ends or ctx ends (ctx ends when the runner shuts down, not when
	// the job is reported).
	OpenTunnel(ctx context.Context, t Tunnel) error
}

// Tunnel is one tunnel job with what is needed to serve it.
type Tunnel struct {
	Job        wire.Job
	URL        string       // absolute URL to dial back (server URL + Job.Tunnel.Path)
	Header     http.Header  // carries the runner's bearer credential
	HTTPClient *http.Client // proxy- and CA-aware, like every runner request
	// DialAgent connects to the sandbox's agent (Backend.DialAgent for
	// the job's sandbox).
	DialAgent func(ctx context.Context) (net.Conn, error)
}

// PoolBackend is what a Backend needs for warm pools (runner/docker has
// it). Pool members are containers created and started ahead of any
// sandbox, named by a member id ("pool-…"); adopting one makes it the
// container of a sandbox id, after which Backend's methods find it by that
// id like any other.
type PoolBackend interface {
	// CreatePoolMember creates and starts spec's container (spec.Pool set,
	// spec.SandboxID the member id) and returns its container id.
	CreatePoolMember(ctx context.Context, spec ContainerSpec) (containerID string, err error)
	// AdoptPoolMember makes member memberID (container containerID) the
	// container of sandboxID: Backend's methods find it by sandboxID when
	// it returns. The rename that makes this last may finish after it
	// returns; the runner takes each member once.
	AdoptPoolMember(ctx context.Context, memberID, containerID, sandboxID string) error
	// RenamePoolMember finishes the adoption of member memberID by
	// sandboxID that a runner's death cut short, and waits for it.
	RenamePoolMember(ctx context.Context, memberID, sandboxID string) error
	// ListPoolMembers lists runnerID's members that no sandbox adopted.
	ListPoolMembers(ctx context.Context, runnerID string) ([]PoolMember, error)
	// RemovePoolMember removes an unadopted member; a missing one is success.
	RemovePoolMember(ctx context.Context, memberID string) error
}

// PoolMember is one unadopted pool container a PoolBackend found.
type PoolMember struct {
	ID          string // member id, "pool-…"
	ContainerID string
	Pool        string // the pool's key
	Running     bool
}

// Volume is a named volume of one sandbox: the engine's volume is named
// from the sandbox id and Name, so sandboxes never share one.
type Volume struct {
	Name     string
	Target   string
	ReadOnly bool
}
