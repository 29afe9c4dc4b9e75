package docker

import (
	"context"
	"fmt"
	"net/netip"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/codepod-dev/codepod"
)

// iccOption turns off traffic between containers on one bridge;
// bridgeNameOption names the bridge's host interface.
const (
	iccOption        = "com.docker.network.bridge.enable_icc"
	bridgeNameOption = "com.docker.network.bridge.name"
)

// ensureNetwork creates a sandboxes' bridge once: a user-defined bridge
// (outbound access through the host's NAT) on which sandboxes cannot reach
// one another. An existing network of that name must have the same setting.
// bridge, when not "", is the host interface the bridge must have (the
// policy network's, which the runner's firewall matches on).
func (b *Backend) ensureNetwork(ctx context.Context, name, bridge string) error {
	b.netMu.Lock()
	defer b.netMu.Unlock()
	if b.netReady[name] {
		return nil
	}
	n, err := b.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		err = b.createNetwork(ctx, name, bridge)
		if err == nil {
			b.netReady[name] = true
			return nil
		}
		if !cerrdefs.IsConflict(err) {
			return err
		}
		n, err = b.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	if n.Driver != "bridge" || n.Options[iccOption] != "false" || (bridge != "" && n.Options[bridgeNameOption] != bridge) {
		return fmt.Errorf("network %s exists but is not a bridge with %s=false (and interface %q); remove it (docker network rm %s) and the runner recreates it", name, iccOption, bridge, name)
	}
	b.netReady[name] = true
	return nil
}

func (b *Backend) createNetwork(ctx context.Context, name, bridge string) error {
	opts := map[string]string{iccOption: "false"}
	if bridge != "" {
		opts[bridgeNameOption] = bridge
	}
	_, err := b.cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver:  "bridge",
		Options: opts,
		Labels:  map[string]string{"dev.codepod.network": "sandboxes"},
	})
	if err != nil {
		return fmt.Errorf("create network %s: %w", name, err)
	}
	b.log.Info("created a sandbox bridge network", "network", name, "bridge", bridge)
	return nil
}

// forgetNetwork makes the next ensureNetwork check the engine again.
func (b *Backend) forgetNetwork(name string) {
	b.netMu.Lock()
	delete(b.netReady, name)
	b.netMu.Unlock()
}

// PolicyBridge is the host interface of the policy network, which the
// runner's firewall matches sandboxes' traffic on.
func (b *Backend) PolicyBridge() string { return b.policyBridge }

// SandboxAddr is the address of a running sandbox on the policy network.
func (b *Backend) SandboxAddr(ctx context.Context, sandboxID string) (netip.Addr, error) {
	c, err := b.find(ctx, sandboxID)
	if err != nil {
		return netip.Addr{}, err
	}
	if c == nil || c.State == nil || !c.State.Running || c.NetworkSettings == nil {
		return netip.Addr{}, codepod.Errorf(codepod.EUNAVAILABLE, "sandbox %s is not running on this runner", sandboxID)
	}
	ep := c.NetworkSettings.Networks[b.policyNet]
	if ep == nil {
		return netip.Addr{}, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is not on the policy network %s", sandboxID, b.policyNet)
	}
	a, err := netip.ParseAddr(ep.IPAddress)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("sandbox %s: address %q on %s: %w", sandboxID, ep.IPAddress, b.policyNet, err)
	}
	return a, nil
}
