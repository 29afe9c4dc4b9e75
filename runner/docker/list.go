package docker

import (
	"context"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/codepod-dev/codepod/runner"
)

// ListSandboxes returns every container labelled with runnerID, running or
// not. Paused and restarting containers count as running. A container that
// does not run is inspected for why it stopped (OOM kill, exit code).
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
		id := b.sandboxOf(c)
		if id == "" {
			continue
		}
		running := c.State == container.StateRunning || c.State == container.StatePaused || c.State == container.StateRestarting
		s := runner.ContainerState{SandboxID: id, ContainerID: c.ID, Running: running}
		if !running {
			if err := b.whyStopped(ctx, &s); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// sandboxOf is the sandbox a listed container is; "" for a pool member
// nobody adopted.
func (b *Backend) sandboxOf(c container.Summary) string {
	id := c.Labels[LabelSandbox]
	if id == "" && c.Labels[LabelPool] != "" {
		id = adoptedID(c.Names) // "" for a pool member nobody adopted
	}
	if id == "" {
		id = b.renames.sandboxOf(c.ID) // adopted, its rename under way
	}
	return id
}

// whyStopped fills s's OOMKilled, ExitCode and Reason from the engine.
func (b *Backend) whyStopped(ctx context.Context, s *runner.ContainerState) error {
	c, err := b.cli.ContainerInspect(ctx, s.ContainerID)
	if cerrdefs.IsNotFound(err) {
		return nil // removed since the list: the next inventory omits it
	}
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", s.ContainerID, err)
	}
	if c.State == nil {
		return nil
	}
	var limit int64
	if c.HostConfig != nil {
		limit = c.HostConfig.Memory
	}
	s.OOMKilled, s.ExitCode = c.State.OOMKilled, c.State.ExitCode
	s.Reason = stopReason(c.State, limit)
	return nil
}

// stopReason tells a user why a container stopped; "" for a clean stop.
// Exit 143 (SIGTERM) and 137 without an OOM kill are what a stop does.
func stopReason(st *container.State, memLimit int64) string {
	switch {
	case st.OOMKilled:
		return "the sandbox ran out of memory (limit " + memString(memLimit) + "); its processes were killed"
	case st.Error != "":
		return "the sandbox's container failed: " + st.Error
	case st.ExitCode == 0 || st.ExitCode == 143 || st.ExitCode == 137:
		return ""
	default:
		return fmt.Sprintf("the sandbox's agent exited with code %d", st.ExitCode)
	}
}

func memString(n int64) string {
	switch {
	case n <= 0:
		return "none"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// MemoryBytes is the engine host's total memory.
func (b *Backend) MemoryBytes(ctx context.Context) (int64, error) {
	info, err := b.cli.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("docker info: %w", err)
	}
	return info.MemTotal, nil
}

// Runtimes lists the CodePod runtimes (keys of Runtimes) whose OCI runtime
// the engine has registered, sorted.
func (b *Backend) Runtimes(ctx context.Context) ([]string, error) {
	info, err := b.cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	var out []string
	for name, engine := range Runtimes {
		if _, ok := info.Runtimes[engine]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
