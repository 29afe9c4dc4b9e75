package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/codepod-dev/codepod/runner"
)

// ListSandboxes returns every container labelled with runnerID, running or
// not. Paused and restarting containers count as running.
func (b *Backend) ListSandboxes(ctx context.Context, runnerID string) ([]runner.ContainerState, error) {
	list, err := b.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRunner+"="+runnerID)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]runner.ContainerState, 0, len(list))
	for _, c := range list {
		id := c.Labels[LabelSandbox]
		if id == "" {
			continue
		}
		running := c.State == container.StateRunning || c.State == container.StatePaused || c.State == container.StateRestarting
		out = append(out, runner.ContainerState{SandboxID: id, ContainerID: c.ID, Running: running})
	}
	return out, nil
}

// MemoryBytes is the engine host's total memory.
func (b *Backend) MemoryBytes(ctx context.Context) (int64, error) {
	info, err := b.cli.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("docker info: %w", err)
	}
	return info.MemTotal, nil
}
