package devcontainer

import (
	"fmt"
	"strings"
)

// Policy says which devcontainer.json properties that reach past the
// sandbox a server accepts. The zero value, the default, refuses them all:
// each would let a project's config take the runner's host (privileged,
// capAdd, securityOpt, runArgs, host bind mounts) or run a command on the
// user's machine (initializeCommand). An admin may allow some later.
type Policy struct {
	AllowPrivileged        bool
	AllowCapAdd            bool
	AllowSecurityOpt       bool
	AllowRunArgs           bool
	AllowBindMounts        bool
	AllowInitializeCommand bool
}

// Violation is one refused property and why.
type Violation struct {
	Property string // e.g. "privileged", "mounts[1]"
	Reason   string
}

// PolicyError lists every refused property of a config.
type PolicyError struct{ Violations []Violation }

func (e *PolicyError) Error() string {
	var parts []string
	for _, v := range e.Violations {
		parts = append(parts, fmt.Sprintf("%q is refused: %s", v.Property, v.Reason))
	}
	return "devcontainer.json: " + strings.Join(parts, "; ") + "; remove it (or ask the admin to allow it)"
}

// Check returns a *PolicyError naming every property of c that p refuses,
// or nil.
func (p Policy) Check(c *Config) error {
	var vs []Violation
	add := func(allowed, set bool, prop, reason string) {
		if set && !allowed {
			vs = append(vs, Violation{prop, reason})
		}
	}
	add(p.AllowPrivileged, c.Privileged != nil && *c.Privileged, "privileged", "a privileged container controls the runner's host")
	add(p.AllowCapAdd, len(c.CapAdd) > 0, "capAdd", fmt.Sprintf("extra capabilities (%s) weaken the sandbox", strings.Join(c.CapAdd, ", ")))
	add(p.AllowSecurityOpt, len(c.SecurityOpt) > 0, "securityOpt", "security options can turn off seccomp and AppArmor")
	add(p.AllowRunArgs, len(c.RunArgs) > 0, "runArgs", "raw docker run arguments bypass every other check")
	for i, m := range c.Mounts {
		add(p.AllowBindMounts, m.HostBind(), fmt.Sprintf("mounts[%d]", i), fmt.Sprintf("a bind mount of the host's %s; use a named volume (type=volume)", m.Source))
	}
	add(p.AllowInitializeCommand, c.InitializeCommand != nil, "initializeCommand", "it would run on your machine, not in the sandbox")
	if len(vs) == 0 {
		return nil
	}
	return &PolicyError{vs}
}
