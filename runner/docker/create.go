package docker

import (
	"context"
	"fmt"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
)

// CreateSandbox makes sure the sandbox's container exists and runs. An
// existing container (found by name) is started if it is not running; a
// concurrent create that wins the name race is found the same way, so there
// is never a second container.
func (b *Backend) CreateSandbox(ctx context.Context, spec runner.ContainerSpec) (string, error) {
	// Create first: on a first delivery (the common case) an inspect of a
	// name that does not exist yet is a wasted engine call; a name in use
	// is a conflict, and then the container is found.
	id, err := b.createContainer(ctx, spec)
	switch {
	case err == nil:
		return id, b.startNew(ctx, id)
	case !cerrdefs.IsConflict(err): // "the container name is already in use": made before, or another create won
		return "", err
	}
	c, err := b.findWinner(ctx, spec.SandboxID)
	if err != nil {
		return "", err
	}
	if c.State != nil && c.State.Running {
		return c.ID, nil
	}
	return c.ID, b.start(ctx, c.ID)
}

// createContainer creates (but does not start) the container.
func (b *Backend) createContainer(ctx context.Context, spec runner.ContainerSpec) (string, error) {
	argv, err := b.imageArgv(ctx, spec.Image)
	if err != nil {
		return "", err
	}
	netMode, bridge := "none", ""
	switch {
	case spec.Policy:
		netMode, bridge = b.policyNet, b.policyBridge
	case spec.Network == codepod.NetworkBridge:
		netMode = b.network
	}
	if netMode != "none" {
		if err := b.ensureNetwork(ctx, netMode, bridge); err != nil {
			return "", err
		}
	}
	cfg, host := containerConfig(spec, argv, netMode)
	resp, err := b.cli.ContainerCreate(ctx, cfg, host, nil, nil, ContainerName(spec.SandboxID))
	if cerrdefs.IsNotFound(err) && netMode != "none" {
		// The bridge was removed behind our back: make it again, once.
		b.forgetNetwork(netMode)
		if err := b.ensureNetwork(ctx, netMode, bridge); err != nil {
			return "", err
		}
		resp, err = b.cli.ContainerCreate(ctx, cfg, host, nil, nil, ContainerName(spec.SandboxID))
	}
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", ContainerName(spec.SandboxID), err)
	}
	for _, w := range resp.Warnings {
		b.log.Warn("engine warning on container create", "sandbox_id", spec.SandboxID, "warning", w)
	}
	if spec.Workspace != nil {
		// Before the first start: the project is there when anything runs.
		if err := b.copyWorkspace(ctx, resp.ID, spec.Workspace); err != nil {
			if rmErr := b.cli.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true}); rmErr != nil {
				b.log.Warn("cannot remove a container whose workspace copy failed", "container_id", resp.ID, "err", rmErr)
			}
			return "", err
		}
	}
	return resp.ID, nil
}

// imageArgv is the image's entrypoint followed by its command.
func (b *Backend) imageArgv(ctx context.Context, ref string) ([]string, error) {
	if argv, ok := b.recentArgv(ref); ok {
		return argv, nil
	}
	img, err := b.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "image %q is not on this runner", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if img.Config == nil {
		return nil, nil
	}
	return slices.Concat(img.Config.Entrypoint, img.Config.Cmd), nil
}

// startNew starts a container this call created; when that fails it is
// removed, so a failed create leaves nothing behind.
func (b *Backend) startNew(ctx context.Context, id string) error {
	err := b.start(ctx, id)
	if err != nil {
		if rmErr := b.cli.ContainerRemove(context.WithoutCancel(ctx), id, container.RemoveOptions{Force: true}); rmErr != nil {
			b.log.Warn("cannot remove a container that failed to start", "container_id", id, "err", rmErr)
		}
	}
	return err
}

func (b *Backend) start(ctx context.Context, id string) error {
	if err := b.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	return nil
}

// findWinner finds the container of a create that won the name race. The
// engine reserves the name before the container can be inspected, so it
// may take a moment to appear.
func (b *Backend) findWinner(ctx context.Context, sandboxID string) (*container.InspectResponse, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := b.find(ctx, sandboxID)
		if err != nil || c != nil {
			return c, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("create container %s: the name is in use, but no such container appeared", ContainerName(sandboxID))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// find inspects the sandbox's container by name: (nil, nil) when there is
// none, an error when the name belongs to a container CodePod did not make.
func (b *Backend) find(ctx context.Context, sandboxID string) (*container.InspectResponse, error) {
	name := b.ref(sandboxID)
	c, err := b.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", name, err)
	}
	if c.Config == nil || !ownedBy(c.Config.Labels, sandboxID) {
		return nil, codepod.Errorf(codepod.ECONFLICT, "container name %s is taken by a container CodePod did not create; remove it", name)
	}
	return &c, nil
}

// ownedBy reports whether a container found by sandboxID's name carries
// that sandbox's label, or is a pool container (no sandbox label; only
// its runner renames one to a sandbox's name, when it adopts it).
func ownedBy(labels map[string]string, sandboxID string) bool {
	if labels[LabelPool] != "" && labels[LabelSandbox] == "" {
		return true
	}
	return labels[LabelSandbox] == sandboxID
}
