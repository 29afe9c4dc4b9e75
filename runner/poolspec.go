package runner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// PoolSpec is one warm pool: Size sandboxes of one image and shape kept
// created, started and reachable, for creates that match them exactly.
// Zero fields take the server's defaults (codepod.DefaultLimits, network
// none, runtime runc), which are what a create that names none gets.
type PoolSpec struct {
	Image       string
	CPU         float64
	MemoryBytes int64
	Network     string
	Runtime     string
	Size        int
}

// ParsePoolSpec reads the --warm-pool flag's value:
// IMAGE=N[,cpu=C][,memory=M][,network=none|bridge][,runtime=runc|gvisor],
// e.g. "codepod/base:latest=4" or "codepod/tiny:latest=2,cpu=0.5,memory=256m".
func ParsePoolSpec(s string) (PoolSpec, error) {
	bad := func(why string) (PoolSpec, error) {
		return PoolSpec{}, fmt.Errorf("warm pool %q: %s (want IMAGE=N[,cpu=C][,memory=M][,network=none|bridge][,runtime=runc|gvisor])", s, why)
	}
	image, rest, ok := strings.Cut(s, "=")
	if !ok || image == "" {
		return bad("no IMAGE=N")
	}
	parts := strings.Split(rest, ",")
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 0 || n > 100 {
		return bad("the size must be a number from 0 to 100")
	}
	p := PoolSpec{Image: image, Size: n}
	for _, kv := range parts[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "cpu":
			if p.CPU, err = strconv.ParseFloat(v, 64); err != nil || p.CPU <= 0 {
				return bad("cpu must be a positive number of cores")
			}
		case "memory":
			if p.MemoryBytes, err = codepod.ParseBytes(v); err != nil || p.MemoryBytes <= 0 {
				return bad("memory must be a size such as 512m")
			}
		case "network":
			p.Network = v
		case "runtime":
			p.Runtime = v
		default:
			return bad("unknown setting " + strconv.Quote(k))
		}
	}
	return p.withDefaults(), nil
}

// withDefaults fills what a server fills into a create that names nothing.
func (p PoolSpec) withDefaults() PoolSpec {
	d := codepod.DefaultLimits
	if p.CPU == 0 {
		p.CPU = d.DefaultCPU
	}
	if p.MemoryBytes == 0 {
		p.MemoryBytes = d.DefaultMemory
	}
	if p.Network == "" {
		p.Network = codepod.NetworkNone
	}
	if p.Runtime == "" {
		p.Runtime = codepod.RuntimeRunc
	}
	return p
}

// Key names the pool's image and shape; it is the pool label's value.
func (p PoolSpec) Key() string {
	return codepod.WarmPool{Image: p.Image, CPU: p.CPU, MemoryBytes: p.MemoryBytes, Network: p.Network, Runtime: p.Runtime}.Key()
}

// poolKey is the key of the pool a create payload could adopt from, or
// "" when none can serve it (codepod.WarmPoolKey). A sandbox with its own
// environment can adopt: its variables reach its sessions through
// etc/env.json (writeSandboxEnv).
func poolKey(p *wire.SandboxPayload) string {
	if p.NetworkPolicy != nil {
		return "" // made for it, on the policy network (WarmPoolKey)
	}
	ps := PoolSpec{Image: p.Image, CPU: p.CPU, MemoryBytes: p.MemoryBytes, Network: p.Network, Runtime: p.Runtime}.withDefaults()
	return codepod.WarmPoolKey(codepod.SandboxSpec{Image: ps.Image, CPU: ps.CPU, MemoryBytes: ps.MemoryBytes,
		Network: ps.Network, Runtime: ps.Runtime, PidsLimit: p.PidsLimit})
}
