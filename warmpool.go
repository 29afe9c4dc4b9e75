package codepod

import "fmt"

// WarmPool is one of a runner's warm pools: Size sandboxes of one image
// and shape that the runner keeps started, Ready of them ready now (as of
// its last poll, less what creates took since). A create whose spec
// matches (WarmPoolKey) is placed on a runner with a ready one first.
type WarmPool struct {
	Image       string  `json:"image"`
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	Network     string  `json:"network"`
	Runtime     string  `json:"runtime"`
	Size        int     `json:"size"`
	Ready       int     `json:"ready"`
}

// Key is the pool's image and shape, as WarmPoolKey spells it.
func (p WarmPool) Key() string {
	return warmKey(p.Image, p.CPU, p.MemoryBytes, p.Network, p.Runtime)
}

// WarmPoolKey is the key of the pool a normalized spec can be served from,
// or "" when none can: a spec with a pids or disk limit other than the default
// needs a container made for it (a container's limits are fixed when it is
// made), and so does one with a network policy (its container joins the
// runner's policy network, under firewall rules set up before it starts: a
// pool member never had them). A spec with its own environment can be
// served: the runner hands the variables to the adopted sandbox's agent,
// which gives them to every session (not to the image's own command,
// started before the sandbox was known).
func WarmPoolKey(spec SandboxSpec) string {
	if spec.NetworkPolicy != nil || (spec.PidsLimit != 0 && spec.PidsLimit != DefaultLimits.DefaultPids) ||
		(spec.DiskBytes != 0 && spec.DiskBytes != DefaultLimits.DefaultDisk) ||
		// A pool member started without the devcontainer settings, the
		// built image or the copied workspace.
		spec.Devcontainer != nil || spec.Build != nil || spec.Workspace != nil {
		return ""
	}
	return warmKey(spec.Image, spec.CPU, spec.MemoryBytes, spec.Network, spec.Runtime)
}

func warmKey(image string, cpu float64, mem int64, network, runtime string) string {
	return fmt.Sprintf("%s|cpu=%g|mem=%d|net=%s|rt=%s", image, cpu, mem, network, runtime)
}
