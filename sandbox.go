package codepod

import (
	"regexp"
	"strings"
	"time"
)

// SandboxStatus is where a sandbox is in its lifecycle:
//
//	pending → creating → running ⇄ stopped → deleting → deleted
//
// plus error (with a reason) and lost (its runner went away).
type SandboxStatus string

const (
	SandboxPending  SandboxStatus = "pending"
	SandboxCreating SandboxStatus = "creating"
	SandboxRunning  SandboxStatus = "running"
	SandboxStopping SandboxStatus = "stopping"
	SandboxStopped  SandboxStatus = "stopped"
	SandboxStarting SandboxStatus = "starting"
	SandboxDeleting SandboxStatus = "deleting"
	SandboxDeleted  SandboxStatus = "deleted"
	SandboxError    SandboxStatus = "error"
	SandboxLost     SandboxStatus = "lost"
)

// SandboxStatuses lists every status, in lifecycle order.
var SandboxStatuses = []SandboxStatus{
	SandboxPending, SandboxCreating, SandboxRunning, SandboxStopping, SandboxStopped,
	SandboxStarting, SandboxDeleting, SandboxDeleted, SandboxError, SandboxLost,
}

// Network modes a sandbox may ask for.
const (
	NetworkNone   = "none"   // loopback only
	NetworkBridge = "bridge" // an isolated bridge with outbound access
)

// Sandbox runtimes: the kernel boundary a sandbox's processes run behind.
const (
	RuntimeRunc   = "runc"   // Linux namespaces and cgroups (Docker's default)
	RuntimeGVisor = "gvisor" // gVisor's user-space kernel (runsc): a far smaller host-kernel surface
)

// Default images.
const (
	DefaultImage = "codepod/base:latest"
	TinyImage    = "codepod/tiny:latest"
)

// SandboxSpec is what a user asks for. Zero values mean "server default".
type SandboxSpec struct {
	Image       string  `json:"image"`
	CPU         float64 `json:"cpu"`          // cores, may be fractional
	MemoryBytes int64   `json:"memory_bytes"` // hard limit
	PidsLimit   int64   `json:"pids_limit"`
	// DiskBytes bounds what the sandbox writes to its own file system (the
	// container's writable layer), enforced by its runner (docs/isolation.md).
	DiskBytes int64             `json:"disk_bytes,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	TTL       time.Duration     `json:"ttl"` // 0: no TTL
	// IdleTimeout stops the sandbox after this long without activity (open
	// sessions, preview traffic, processes beside the agent); 0: never.
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	Network     string        `json:"network"`
	// NetworkPolicy, when set, is what the sandbox may reach (netpolicy.go);
	// nil keeps the plain network modes.
	NetworkPolicy *NetworkPolicy `json:"network_policy,omitempty"`
	Runtime       string         `json:"runtime,omitempty"` // RuntimeRunc or RuntimeGVisor
	// RunnerLabels must all be present on the runner that hosts the sandbox.
	RunnerLabels map[string]string `json:"runner_labels,omitempty"`
	// Workspace is the sandbox's workspace while placement runs (not
	// stored: Sandbox.WorkspaceID is): only a runner that Serves it fits.
	PlaceWorkspace string `json:"-"`
	// Devcontainer, when set, is what the sandbox keeps of a
	// devcontainer.json (devcontainerspec.go).
	Devcontainer *DevcontainerSpec `json:"devcontainer,omitempty"`
	// Build, when set, makes the runner build the image (build.go); its
	// content-hash tag replaces Image.
	Build *BuildSpec `json:"build,omitempty"`
	// Workspace, when set, is copied into the container before it starts
	// (workspace.go).
	Workspace *WorkspaceSpec `json:"workspace,omitempty"`
}

// Sandbox is one isolated Linux box, owned by one user.
type Sandbox struct {
	ID      string
	Name    string
	OwnerID string
	// WorkspaceID is the workspace it belongs to (names are unique per
	// workspace; every sandbox route is a 404 outside it).
	WorkspaceID string
	RunnerID    string // "" until placed
	Spec        SandboxSpec
	Status      SandboxStatus
	Reason      string // why it is pending, in error, or lost
	// Version counts the sandbox's changes: every write names the version
	// it read and fails with ErrVersionConflict if it moved (see Transition).
	Version            int64
	HostKeyFingerprint string // SHA256:… of the agent's host key, once known
	// AgentVersion is the build version of the sandbox's agent as its
	// runner last reported it ("" until reported).
	AgentVersion string
	// SSHSecret signs the short-lived SSH tokens the agent accepts. It is
	// handed to the runner with the create job and never shown to users.
	SSHSecret []byte
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt *time.Time // set from Spec.TTL
	// IdleAt is when the sandbox counts as idle unless activity moves it
	// forward; nil without Spec.IdleTimeout.
	IdleAt *time.Time
}

// Terminal reports whether the sandbox can no longer change by itself.
func (s SandboxStatus) Terminal() bool { return s == SandboxDeleted }

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
	// imageRE accepts docker references: [registry[:port]/]path[:tag][@digest].
	imageRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
)

// ValidateName checks a sandbox name: DNS-label style, 1–63 characters.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return Errorf(EINVALID, "name %q must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// Limits are the server's defaults and maxima for sandbox resources.
type Limits struct {
	DefaultCPU    float64
	MaxCPU        float64
	DefaultMemory int64
	MaxMemory     int64
	DefaultPids   int64
	MaxPids       int64
	DefaultDisk   int64
	MaxDisk       int64
	MaxTTL        time.Duration // 0: no maximum
	// DefaultRuntime is the runtime of a sandbox that names none
	// ("": RuntimeRunc).
	DefaultRuntime string
	// DefaultNetworkPolicy, when set, is the policy of a sandbox that asks
	// for neither a network nor a policy (nil: such a sandbox gets network
	// none).
	DefaultNetworkPolicy *NetworkPolicy
	// DevcontainerPolicy is DevcontainerStrict ("", the default) or
	// DevcontainerFilter.
	DevcontainerPolicy string
}

// DefaultLimits are used when the operator sets none.
var DefaultLimits = Limits{
	DefaultCPU: 1, MaxCPU: 16,
	DefaultMemory: 512 << 20, MaxMemory: 64 << 30,
	DefaultPids: 512, MaxPids: 32768,
	DefaultDisk: 10 << 30, MaxDisk: 1 << 40,
}

// MinDisk is the least disk a sandbox may ask for.
const MinDisk = 16 << 20

// Normalize fills defaults into spec and checks it against the limits.
// The returned error is an EINVALID *Error naming the first bad field.
func (l Limits) Normalize(spec *SandboxSpec) error {
	if spec.Build != nil {
		if err := spec.Build.validate(); err != nil {
			return err
		}
		spec.Image = spec.Build.Tag()
	}
	if spec.Workspace != nil {
		if err := spec.Workspace.validate(); err != nil {
			return err
		}
	}
	if spec.Image == "" {
		spec.Image = DefaultImage
	}
	if !imageRE.MatchString(spec.Image) || len(spec.Image) > 255 {
		return Errorf(EINVALID, "image %q is not a valid image reference (e.g. debian:bookworm or registry.example.com/team/img:tag)", spec.Image)
	}
	if err := l.normalizeDevcontainer(spec); err != nil {
		return err
	}
	if spec.CPU == 0 {
		spec.CPU = l.DefaultCPU
	}
	if spec.CPU < 0.01 || spec.CPU > l.MaxCPU {
		return Errorf(EINVALID, "cpu %g must be between 0.01 and %g cores", spec.CPU, l.MaxCPU)
	}
	if spec.MemoryBytes == 0 {
		spec.MemoryBytes = l.DefaultMemory
	}
	if spec.MemoryBytes < 6<<20 || spec.MemoryBytes > l.MaxMemory {
		return Errorf(EINVALID, "memory %s must be between 6m and %s", FormatBytes(spec.MemoryBytes), FormatBytes(l.MaxMemory))
	}
	if spec.PidsLimit == 0 {
		spec.PidsLimit = l.DefaultPids
	}
	if spec.PidsLimit < 16 || spec.PidsLimit > l.MaxPids {
		return Errorf(EINVALID, "pids_limit %d must be between 16 and %d", spec.PidsLimit, l.MaxPids)
	}
	if spec.DiskBytes == 0 {
		spec.DiskBytes = l.DefaultDisk
	}
	if spec.DiskBytes < MinDisk || spec.DiskBytes > l.MaxDisk {
		return Errorf(EINVALID, "disk %s must be between %s and %s", FormatBytes(spec.DiskBytes), FormatBytes(MinDisk), FormatBytes(l.MaxDisk))
	}
	if spec.Network == "" && spec.NetworkPolicy == nil && l.DefaultNetworkPolicy != nil {
		p := *l.DefaultNetworkPolicy
		p.Allow, p.Deny = append([]string(nil), p.Allow...), append([]string(nil), p.Deny...)
		spec.NetworkPolicy = &p
	}
	if err := normalizeNetwork(spec); err != nil {
		return err
	}
	if spec.Runtime == "" {
		spec.Runtime = l.DefaultRuntime
	}
	if spec.Runtime == "" {
		spec.Runtime = RuntimeRunc
	}
	if spec.Runtime != RuntimeRunc && spec.Runtime != RuntimeGVisor {
		return Errorf(EINVALID, "runtime %q must be %q or %q", spec.Runtime, RuntimeRunc, RuntimeGVisor)
	}
	if spec.TTL < 0 || (spec.TTL > 0 && spec.TTL < time.Second) {
		return Errorf(EINVALID, "ttl %s must be at least 1s (or 0 for none)", spec.TTL)
	}
	if l.MaxTTL > 0 && (spec.TTL == 0 || spec.TTL > l.MaxTTL) {
		return Errorf(EINVALID, "ttl must be set and at most %s on this server", l.MaxTTL)
	}
	if err := ValidateIdleTimeout(spec.IdleTimeout); err != nil {
		return err
	}
	return validateMaps(spec)
}

func validateMaps(spec *SandboxSpec) error {
	if len(spec.Env) > 256 {
		return Errorf(EINVALID, "at most 256 environment variables")
	}
	for k, v := range spec.Env {
		if !envNameRE.MatchString(k) {
			return Errorf(EINVALID, "environment variable name %q must match [A-Za-z_][A-Za-z0-9_]*", k)
		}
		if strings.ContainsRune(v, 0) || len(v) > 32<<10 {
			return Errorf(EINVALID, "environment variable %s: value must be under 32 KiB without NUL bytes", k)
		}
	}
	for _, m := range []map[string]string{spec.Labels, spec.RunnerLabels} {
		if len(m) > 64 {
			return Errorf(EINVALID, "at most 64 labels")
		}
		for k, v := range m {
			if !labelKeyRE.MatchString(k) {
				return Errorf(EINVALID, "label key %q must be 1-63 letters, digits, '.', '_', '-' or '/'", k)
			}
			if len(v) > 253 || strings.ContainsAny(v, "\x00\n") {
				return Errorf(EINVALID, "label %s: value must be at most 253 characters on one line", k)
			}
		}
	}
	return nil
}
