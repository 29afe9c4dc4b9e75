package docker

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/codepod-dev/codepod"
)

// StartSandbox starts the sandbox's container; one that runs already is
// left alone. A missing container is an ENOTFOUND *codepod.Error.
func (b *Backend) StartSandbox(ctx context.Context, sandboxID string) (string, error) {
	c, err := b.find(ctx, sandboxID)
	if err != nil {
		return "", err
	}
	if c == nil {
		return "", codepod.Errorf(codepod.ENOTFOUND, "sandbox %s has no container on this runner (it was removed outside CodePod); delete the sandbox and create it again", sandboxID)
	}
	if c.State != nil && c.State.Running {
		return c.ID, nil
	}
	return c.ID, b.start(ctx, c.ID)
}

// StopSandbox stops the container (SIGTERM to the agent, SIGKILL after
// timeout). A stopped or missing container is success.
func (b *Backend) StopSandbox(ctx context.Context, sandboxID string, timeout time.Duration) error {
	secs := int(timeout / time.Second)
	err := b.cli.ContainerStop(ctx, b.ref(sandboxID), container.StopOptions{Timeout: &secs})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("stop container %s: %w", ContainerName(sandboxID), err)
}

// RemoveSandbox removes the container by force, with its anonymous
// volumes. A missing container is success; one whose removal is already
// under way is waited for.
func (b *Backend) RemoveSandbox(ctx context.Context, sandboxID string) error {
	name := b.ref(sandboxID)
	err := b.cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil || cerrdefs.IsNotFound(err):
		b.renames.drop(sandboxID)
	case cerrdefs.IsConflict(err): // "removal of container … is already in progress"
		if err := b.waitGone(ctx, name); err != nil {
			return err
		}
	default:
		return fmt.Errorf("remove container %s: %w", name, err)
	}
	return b.removeVolumes(ctx, sandboxID)
}

// removeVolumes removes the sandbox's named volumes (devcontainer mounts).
func (b *Backend) removeVolumes(ctx context.Context, sandboxID string) error {
	vols, err := b.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelSandbox+"="+sandboxID))})
	if err != nil {
		return fmt.Errorf("list volumes of sandbox %s: %w", sandboxID, err)
	}
	for _, v := range vols.Volumes {
		if err := b.cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove volume %s: %w", v.Name, err)
		}
	}
	return nil
}

// waitGone polls until the container no longer exists (up to 30s).
func (b *Backend) waitGone(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := b.cli.ContainerInspect(ctx, name)
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove container %s: still there after another removal: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
