package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
)

// DiskUsage measures what every running sandbox of runnerID holds: its
// writable layer, and its named volumes (devcontainer mounts) when it has
// some. The engine does the measuring (one sized container list, and one
// volume usage call when a sandbox has volumes): it walks the layers and
// volumes itself, and the runner opens no path in them. Pool members
// nobody adopted are left out: no tenant writes to them.
func (b *Backend) DiskUsage(ctx context.Context, runnerID string) ([]runner.DiskUsage, error) {
	list, err := b.cli.ContainerList(ctx, container.ListOptions{
		Size: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRunner+"="+runnerID),
			filters.Arg("status", "running")),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers with their sizes: %w", err)
	}
	var volumes map[string]int64 // measured once, when a sandbox has some
	out := make([]runner.DiskUsage, 0, len(list))
	for _, c := range list {
		id := b.sandboxOf(c)
		if id == "" {
			continue
		}
		u := runner.DiskUsage{SandboxID: id, ContainerID: c.ID, Used: c.SizeRw} // Limit 0: made before disk limits
		if label, ok := c.Labels[LabelDisk]; ok {
			limit, _ := strconv.ParseInt(label, 10, 64)
			u.Limit = diskLimit(limit)
		}
		inVolumes, err := b.volumesUsed(ctx, id, c.Mounts, &volumes)
		if err != nil {
			return nil, err
		}
		u.Used += inVolumes
		out = append(out, u)
	}
	return out, nil
}

// DiskUsed measures what sandboxID holds, running or not: its writable
// layer and its named volumes.
func (b *Backend) DiskUsed(ctx context.Context, sandboxID string) (int64, error) {
	c, _, err := b.cli.ContainerInspectWithRaw(ctx, ContainerName(sandboxID), true)
	if cerrdefs.IsNotFound(err) {
		return 0, codepod.Errorf(codepod.ENOTFOUND, "sandbox %s has no container on this runner", sandboxID)
	}
	if err != nil {
		return 0, fmt.Errorf("inspect container %s: %w", ContainerName(sandboxID), err)
	}
	if c.SizeRw == nil {
		return 0, fmt.Errorf("the engine did not report the size of container %s", ContainerName(sandboxID))
	}
	var volumes map[string]int64
	inVolumes, err := b.volumesUsed(ctx, sandboxID, c.Mounts, &volumes)
	if err != nil {
		return 0, err
	}
	return *c.SizeRw + inVolumes, nil
}

// volumesUsed sums what the sandbox's own named volumes (VolumeName's)
// among a container's mounts hold. The engine's measure of every volume
// is asked for at the first such volume and kept in *sizes for the next
// sandbox.
func (b *Backend) volumesUsed(ctx context.Context, sandboxID string, mounts []container.MountPoint, sizes *map[string]int64) (int64, error) {
	var used int64
	for _, m := range mounts {
		if m.Type != mount.TypeVolume || !strings.HasPrefix(m.Name, VolumeName(sandboxID, "")) {
			continue
		}
		if *sizes == nil {
			var err error
			if *sizes, err = b.volumeSizes(ctx); err != nil {
				return 0, err
			}
		}
		used += (*sizes)[m.Name]
	}
	return used, nil
}

// volumeSizes is the engine's measure of every volume it has, by name.
func (b *Backend) volumeSizes(ctx context.Context) (map[string]int64, error) {
	du, err := b.cli.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.VolumeObject}})
	if err != nil {
		return nil, fmt.Errorf("measure volumes: %w", err)
	}
	sizes := make(map[string]int64, len(du.Volumes))
	for _, v := range du.Volumes {
		if v != nil && v.UsageData != nil && v.UsageData.Size > 0 {
			sizes[v.Name] = v.UsageData.Size
		}
	}
	return sizes, nil
}

// diskLimit is a disk limit, CodePod's default for none (0 or a label
// that does not parse): a sandbox is never unbounded.
func diskLimit(n int64) int64 {
	if n <= 0 {
		return codepod.DefaultLimits.DefaultDisk
	}
	return n
}
