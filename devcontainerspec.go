package codepod

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// DevcontainerSpec is what a sandbox keeps of a devcontainer.json for the
// runner and the agent: the lifecycle commands, the user and environment
// of sessions, the workspace folder, ports and the properties the server's
// policy decides on. Package devcontainer turns a parsed config into one
// (devcontainer.ToSpec); the API takes it as JSON (docs/devcontainers.md).
type DevcontainerSpec struct {
	OnCreateCommand      *LifecycleCommand `json:"onCreateCommand,omitempty"`
	UpdateContentCommand *LifecycleCommand `json:"updateContentCommand,omitempty"`
	PostCreateCommand    *LifecycleCommand `json:"postCreateCommand,omitempty"`
	PostStartCommand     *LifecycleCommand `json:"postStartCommand,omitempty"`
	PostAttachCommand    *LifecycleCommand `json:"postAttachCommand,omitempty"`
	WaitFor              string            `json:"waitFor,omitempty"`

	RemoteUser          string            `json:"remoteUser,omitempty"`
	ContainerUser       string            `json:"containerUser,omitempty"`
	UpdateRemoteUserUID *bool             `json:"updateRemoteUserUID,omitempty"`
	RemoteEnv           map[string]string `json:"remoteEnv,omitempty"`
	WorkspaceFolder     string            `json:"workspaceFolder,omitempty"`

	ForwardPorts    []string                  `json:"forwardPorts,omitempty"` // "3000" or "db:5432"
	PortsAttributes map[string]PortAttributes `json:"portsAttributes,omitempty"`

	// OverrideCommand false keeps the image's ENTRYPOINT/CMD running as
	// the agent's supervised child; nil or true (the spec's default for
	// image and Dockerfile configs) runs only the agent.
	OverrideCommand *bool  `json:"overrideCommand,omitempty"`
	ShutdownAction  string `json:"shutdownAction,omitempty"`
	// HostRequirements, when set, were turned into the spec's CPU and
	// memory; kept to name them when they exceed the server's maxima.
	HostRequirements *DevcontainerResources `json:"hostRequirements,omitempty"`
	Mounts           []DevcontainerMount    `json:"mounts,omitempty"`

	// Properties a server's policy refuses or filters (DevcontainerPolicy).
	// They are never applied to a container.
	Privileged        bool              `json:"privileged,omitempty"`
	CapAdd            []string          `json:"capAdd,omitempty"`
	SecurityOpt       []string          `json:"securityOpt,omitempty"`
	RunArgs           []string          `json:"runArgs,omitempty"`
	InitializeCommand *LifecycleCommand `json:"initializeCommand,omitempty"`
	// Filtered names the properties the server dropped under the filter
	// policy; set by the server, shown on the sandbox.
	Filtered []string `json:"filtered,omitempty"`
}

// PortAttributes describe a forwarded port.
type PortAttributes struct {
	Label         string `json:"label,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
	OnAutoForward string `json:"onAutoForward,omitempty"`
}

// DevcontainerResources are hostRequirements as the server checks them.
type DevcontainerResources struct {
	CPUs        int   `json:"cpus,omitempty"`
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// StorageBytes is the disk the project needs: the sandbox's disk
	// limit is at least that (SandboxSpec.DiskBytes).
	StorageBytes int64 `json:"storage_bytes,omitempty"`
}

// DevcontainerMount is one mounts entry. Only type "volume" is applied: a
// named volume made per sandbox by the runner and removed with it.
type DevcontainerMount struct {
	Type     string `json:"type,omitempty"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readonly,omitempty"`
}

// LifecycleCommand is a lifecycle command in one of the spec's three
// forms: Shell ("make deps", run by /bin/sh -c), Args (["make","deps"],
// no shell) or Parallel (named Shell or Args commands run at once; all
// must succeed). Exactly one is set.
type LifecycleCommand struct {
	Shell    string
	Args     []string
	Parallel map[string]LifecycleCommand
}

// UnmarshalJSON reads any of the three forms.
func (c *LifecycleCommand) UnmarshalJSON(b []byte) error {
	*c = LifecycleCommand{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty command")
	}
	switch b[0] {
	case '"':
		return json.Unmarshal(b, &c.Shell)
	case '[':
		if err := json.Unmarshal(b, &c.Args); err != nil || len(c.Args) == 0 {
			return fmt.Errorf("a command array holds the program and its arguments, as strings")
		}
		return nil
	case '{':
		var m map[string]LifecycleCommand
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for name, sub := range m {
			if sub.Parallel != nil {
				return fmt.Errorf("%q: parallel commands do not nest", name)
			}
		}
		c.Parallel = m
		if c.Parallel == nil {
			c.Parallel = map[string]LifecycleCommand{}
		}
		return nil
	}
	return fmt.Errorf("a command is a string, an array of strings or an object of commands")
}

// MarshalJSON writes the form the command has.
func (c LifecycleCommand) MarshalJSON() ([]byte, error) {
	switch {
	case c.Parallel != nil:
		return marshalPlain(c.Parallel)
	case c.Args != nil:
		return marshalPlain(c.Args)
	}
	return marshalPlain(c.Shell)
}

// marshalPlain is json.Marshal without escaping <, > and &, so commands
// read in reasons and logs as written.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Argv runs a Shell or Args command: ["/bin/sh","-c",Shell] or Args.
func (c LifecycleCommand) Argv() []string {
	if c.Args != nil {
		return c.Args
	}
	return []string{"/bin/sh", "-c", c.Shell}
}

// Names are the Parallel entries' names, sorted.
func (c LifecycleCommand) Names() []string {
	out := make([]string, 0, len(c.Parallel))
	for k := range c.Parallel {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// String is the command as a user wrote it, for reasons and logs.
func (c LifecycleCommand) String() string {
	b, _ := c.MarshalJSON()
	return string(b)
}

// LifecycleHook is one lifecycle command of a DevcontainerSpec.
type LifecycleHook struct {
	Name    string // "onCreateCommand", …
	Command *LifecycleCommand
}

// CreateHooks are the hooks that run once, after the container's first
// start, in the spec's order; StartHooks run on every start.
func (d *DevcontainerSpec) CreateHooks() []LifecycleHook {
	return []LifecycleHook{
		{"onCreateCommand", d.OnCreateCommand},
		{"updateContentCommand", d.UpdateContentCommand},
		{"postCreateCommand", d.PostCreateCommand},
	}
}

// StartHooks run on every start of the container, after CreateHooks.
func (d *DevcontainerSpec) StartHooks() []LifecycleHook {
	return []LifecycleHook{{"postStartCommand", d.PostStartCommand}}
}

// DevcontainerPolicy is the server's answer to devcontainer.json
// properties that reach past the sandbox (privileged, capAdd,
// securityOpt, runArgs, host bind mounts, initializeCommand).
const (
	// DevcontainerStrict refuses a sandbox whose config sets any of them,
	// naming each (the default).
	DevcontainerStrict = "strict"
	// DevcontainerFilter drops them and lists them in the sandbox's
	// devcontainer.filtered, so the user sees what was not applied.
	DevcontainerFilter = "filter"
)

// normalizeDevcontainer checks d against the limits and the policy; it
// sets spec's CPU, memory and disk from hostRequirements when they were
// not asked for.
func (l Limits) normalizeDevcontainer(spec *SandboxSpec) error {
	d := spec.Devcontainer
	if d == nil {
		return nil
	}
	if err := l.applyDevcontainerPolicy(d); err != nil {
		return err
	}
	if err := d.validate(); err != nil {
		return err
	}
	if hr := d.HostRequirements; hr != nil {
		if float64(hr.CPUs) > l.MaxCPU {
			return Errorf(EINVALID, "devcontainer hostRequirements.cpus %d is above this server's maximum of %g cores; lower it in devcontainer.json or ask the admin", hr.CPUs, l.MaxCPU)
		}
		if hr.MemoryBytes > l.MaxMemory {
			return Errorf(EINVALID, "devcontainer hostRequirements.memory %s is above this server's maximum of %s; lower it in devcontainer.json or ask the admin", FormatBytes(hr.MemoryBytes), FormatBytes(l.MaxMemory))
		}
		if spec.CPU == 0 && hr.CPUs > 0 {
			spec.CPU = float64(hr.CPUs)
		}
		if spec.MemoryBytes == 0 && hr.MemoryBytes > 0 {
			spec.MemoryBytes = hr.MemoryBytes
		}
		if hr.StorageBytes > l.MaxDisk {
			return Errorf(EINVALID, "devcontainer hostRequirements.storage %s is above this server's maximum disk of %s; lower it in devcontainer.json or ask the admin", FormatBytes(hr.StorageBytes), FormatBytes(l.MaxDisk))
		}
		if spec.DiskBytes == 0 && hr.StorageBytes > l.DefaultDisk {
			spec.DiskBytes = hr.StorageBytes // a requirement: the default, when larger, meets it
		}
	}
	return nil
}

// applyDevcontainerPolicy refuses (strict) or drops and lists (filter)
// the properties no sandbox gets.
func (l Limits) applyDevcontainerPolicy(d *DevcontainerSpec) error {
	var refused []string
	if d.Privileged {
		refused = append(refused, "privileged")
	}
	if len(d.CapAdd) > 0 {
		refused = append(refused, "capAdd")
	}
	if len(d.SecurityOpt) > 0 {
		refused = append(refused, "securityOpt")
	}
	if len(d.RunArgs) > 0 {
		refused = append(refused, "runArgs")
	}
	if d.InitializeCommand != nil {
		refused = append(refused, "initializeCommand")
	}
	var keep []DevcontainerMount
	for i, m := range d.Mounts {
		if m.Type != "bind" {
			keep = append(keep, m)
			continue
		}
		refused = append(refused, fmt.Sprintf("mounts[%d]", i))
	}
	if len(refused) == 0 {
		return nil
	}
	if l.DevcontainerPolicy != DevcontainerFilter {
		return Errorf(EINVALID, "devcontainer.json: %s refused by this server's policy (%s): privileged, capAdd, securityOpt, runArgs and host bind mounts would weaken the sandbox, initializeCommand would run on your machine; remove them (mounts: only type=volume), or ask the admin for --devcontainer-policy filter, which drops them",
			strings.Join(refused, ", "), DevcontainerStrict)
	}
	d.Privileged, d.CapAdd, d.SecurityOpt, d.RunArgs, d.InitializeCommand, d.Mounts = false, nil, nil, nil, nil, keep
	d.Filtered = append(d.Filtered, refused...)
	return nil
}

func (d *DevcontainerSpec) validate() error {
	switch d.WaitFor {
	case "", "onCreateCommand", "updateContentCommand", "postCreateCommand", "postStartCommand":
	default:
		return Errorf(EINVALID, "devcontainer waitFor %q must be onCreateCommand, updateContentCommand, postCreateCommand or postStartCommand", d.WaitFor)
	}
	switch d.ShutdownAction {
	case "", "none", "stopContainer":
	default:
		return Errorf(EINVALID, "devcontainer shutdownAction %q must be none or stopContainer", d.ShutdownAction)
	}
	for _, u := range []struct{ prop, v string }{{"remoteUser", d.RemoteUser}, {"containerUser", d.ContainerUser}} {
		if u.v != "" && !userRE.MatchString(u.v) {
			return Errorf(EINVALID, "devcontainer %s %q must be a user name (letters, digits, '.', '_', '-')", u.prop, u.v)
		}
	}
	if d.WorkspaceFolder != "" && !strings.HasPrefix(d.WorkspaceFolder, "/") {
		return Errorf(EINVALID, "devcontainer workspaceFolder %q must be an absolute path", d.WorkspaceFolder)
	}
	for k := range d.RemoteEnv {
		if !envNameRE.MatchString(k) {
			return Errorf(EINVALID, "devcontainer remoteEnv name %q must match [A-Za-z_][A-Za-z0-9_]*", k)
		}
	}
	for i, m := range d.Mounts {
		if m.Type != "" && m.Type != "volume" {
			return Errorf(EINVALID, "devcontainer mounts[%d]: type %q is not supported yet; use a named volume (type=volume)", i, m.Type)
		}
		if !volumeRE.MatchString(m.Source) || !strings.HasPrefix(m.Target, "/") {
			return Errorf(EINVALID, "devcontainer mounts[%d]: a volume needs a source name (letters, digits, '_', '.', '-') and an absolute target", i)
		}
	}
	return nil
}

var (
	userRE   = nameLike(`[A-Za-z_][A-Za-z0-9._-]{0,31}`)
	volumeRE = nameLike(`[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`)
)

func nameLike(re string) *regexp.Regexp { return regexp.MustCompile("^" + re + "$") }
