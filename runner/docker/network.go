package docker

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// iccOption turns off traffic between containers on one bridge.
const iccOption = "com.docker.network.bridge.enable_icc"

// ensureNetwork creates the sandboxes' bridge once: a user-defined bridge
// (outbound access through the host's NAT) on which sandboxes cannot reach
// one another. An existing network of that name must have the same setting.
func (b *Backend) ensureNetwork(ctx context.Context) error {
	b.netMu.Lock()
	defer b.netMu.Unlock()
	if b.netReady {
		return nil
	}
	n, err := b.cli.NetworkInspect(ctx, b.network, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		err = b.createNetwork(ctx)
		if err == nil {
			b.netReady = true
			return nil
		}
		if !cerrdefs.IsConflict(err) {
			return err
		}
		n, err = b.cli.NetworkInspect(ctx, b.network, network.InspectOptions{})
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", b.network, err)
	}
	if n.Driver != "bridge" || n.Options[iccOption] != "false" {
		return fmt.Errorf("network %s exists but is not a bridge with %s=false; remove it (docker network rm %s) and the runner recreates it", b.network, iccOption, b.network)
	}
	b.netReady = true
	return nil
}

func (b *Backend) createNetwork(ctx context.Context) error {
	_, err := b.cli.NetworkCreate(ctx, b.network, network.CreateOptions{
		Driver:  "bridge",
		Options: map[string]string{iccOption: "false"},
		Labels:  map[string]string{"dev.codepod.network": "sandboxes"},
	})
	if err != nil {
		return fmt.Errorf("create network %s: %w", b.network, err)
	}
	b.log.Info("created the sandbox bridge network", "network", b.network)
	return nil
}

// forgetNetwork makes the next ensureNetwork check the engine again.
func (b *Backend) forgetNetwork() {
	b.netMu.Lock()
	b.netReady = false
	b.netMu.Unlock()
}
