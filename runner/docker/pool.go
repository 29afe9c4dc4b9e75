package docker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/codepod-dev/codepod/runner"
)

// LabelPool marks a warm-pool container: its value is the pool's key
// (image and shape). A pool container carries no sandbox, owner or name
// label: until a create adopts it, it belongs to no one. Adoption renames
// it to codepod-<sandbox id>; its labels (fixed at create) stay, so an
// adopted sandbox's id is read from its name.
const LabelPool = "dev.codepod.pool"

// poolPrefix starts the id (and so the container name) of every pool
// member: "codepod-pool-…". Sandbox ids never start with it (they are
// "sb_…").
const poolPrefix = "pool-"

var _ runner.PoolBackend = (*Backend)(nil)

// CreatePoolMember creates and starts a pool container for spec, whose
// SandboxID is the member's id (runner.NewPoolMemberID) and whose Pool
// is the pool's key. It never finds an existing container: member ids are
// fresh.
func (b *Backend) CreatePoolMember(ctx context.Context, spec runner.ContainerSpec) (string, error) {
	if !strings.HasPrefix(spec.SandboxID, poolPrefix) || spec.Pool == "" {
		return "", fmt.Errorf("pool member %q: not a pool member id or no pool key", spec.SandboxID)
	}
	id, err := b.createContainer(ctx, spec)
	if err != nil {
		return "", err
	}
	return id, b.startNew(ctx, id)
}

// AdoptPoolMember makes pool member memberID (container containerID) the
// container of sandboxID at once: from now on every operation by sandbox
// id finds it by its container id, and ListSandboxes reports it as the
// sandbox's. The rename to the sandbox's name (an engine call of tens to
// hundreds of milliseconds on a busy host) goes on in the background, off
// the create's and the first exec's path (renameDelay); a runner that dies before it is done finishes it on
// its next start (RenamePoolMember, from the runner's sweep). The runner
// never adopts one member twice (it takes it under its own lock).
func (b *Backend) AdoptPoolMember(ctx context.Context, memberID, containerID, sandboxID string) error {
	if !strings.HasPrefix(memberID, poolPrefix) || containerID == "" || sandboxID == "" || strings.HasPrefix(sandboxID, poolPrefix) {
		return fmt.Errorf("adopt pool member %q (container %q) as %q: bad ids", memberID, containerID, sandboxID)
	}
	b.renames.add(sandboxID, containerID)
	go func() {
		// The rename holds the container's lock in the engine, and every
		// inspect of the container waits for it: the server's first dial
		// into the sandbox (two inspects), which follows the result within
		// milliseconds, would wait for it too.
		time.Sleep(renameDelay)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err := b.cli.ContainerRename(ctx, containerID, ContainerName(sandboxID))
		switch {
		case err == nil:
			b.renames.drop(sandboxID)
		case cerrdefs.IsNotFound(err): // deleted before the rename: nothing to find any more
			b.renames.drop(sandboxID)
		default: // found by container id until the runner's next start renames it
			b.log.Warn("cannot rename an adopted warm-pool container", "member", memberID, "sandbox_id", sandboxID, "err", err)
		}
	}()
	return nil
}

// renameDelay is how long after an adoption its rename waits: past the
// first exec's dial on a busy host.
const renameDelay = 2 * time.Second

// RenamePoolMember renames pool member memberID's container to sandboxID's
// name and waits for it: the end of an adoption cut short by the runner's
// death (the member's directory already names the sandbox).
func (b *Backend) RenamePoolMember(ctx context.Context, memberID, sandboxID string) error {
	from, to := ContainerName(memberID), ContainerName(sandboxID)
	if err := b.cli.ContainerRename(ctx, from, to); err != nil {
		return fmt.Errorf("adopt pool container %s as %s: %w", from, to, err)
	}
	return nil
}

// renames are the adopted pool members whose rename is under way: by
// sandbox id, the container id that finds the member meanwhile.
type renames struct {
	mu   sync.Mutex
	byID map[string]string
}

func (r *renames) add(sandboxID, containerID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string]string{}
	}
	r.byID[sandboxID] = containerID
}

func (r *renames) drop(sandboxID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byID, sandboxID)
}

// container is the container id of sandboxID while its rename is under
// way, or "".
func (r *renames) container(sandboxID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[sandboxID]
}

// sandboxOf is the sandbox that adopted container containerID while its
// rename is under way, or "".
func (r *renames) sandboxOf(containerID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sb, c := range r.byID {
		if c == containerID {
			return sb
		}
	}
	return ""
}

// ref is how the engine finds sandboxID's container: its name, or its
// container id while an adoption's rename is under way.
func (b *Backend) ref(sandboxID string) string {
	if c := b.renames.container(sandboxID); c != "" {
		return c
	}
	return ContainerName(sandboxID)
}

// ListPoolMembers lists runnerID's pool containers that no sandbox has
// adopted (still named codepod-pool-…), running or not.
func (b *Backend) ListPoolMembers(ctx context.Context, runnerID string) ([]runner.PoolMember, error) {
	list, err := b.cli.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRunner+"="+runnerID),
			filters.Arg("label", LabelPool)),
	})
	if err != nil {
		return nil, fmt.Errorf("list pool containers: %w", err)
	}
	var out []runner.PoolMember
	for _, c := range list {
		if id, ok := poolMemberID(c.Names); ok && b.renames.sandboxOf(c.ID) == "" {
			out = append(out, runner.PoolMember{ID: id, ContainerID: c.ID, Pool: c.Labels[LabelPool],
				Running: c.State == container.StateRunning})
		}
	}
	return out, nil
}

// RemovePoolMember removes an unadopted pool container by force; a
// missing one is success.
func (b *Backend) RemovePoolMember(ctx context.Context, memberID string) error {
	if !strings.HasPrefix(memberID, poolPrefix) {
		return fmt.Errorf("remove pool member %q: not a pool member id", memberID)
	}
	err := b.cli.ContainerRemove(ctx, ContainerName(memberID), container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("remove pool container %s: %w", ContainerName(memberID), err)
}

// poolMemberID is the member id in a container's names when it is still
// a pool member's (codepod-pool-…).
func poolMemberID(names []string) (string, bool) {
	for _, n := range names {
		id, ok := strings.CutPrefix(strings.TrimPrefix(n, "/"), ContainerName(""))
		if ok && strings.HasPrefix(id, poolPrefix) {
			return id, true
		}
	}
	return "", false
}

// adoptedID is the sandbox id of an adopted pool container (named
// codepod-<sandbox id>), or "" for a member nobody adopted.
func adoptedID(names []string) string {
	for _, n := range names {
		id, ok := strings.CutPrefix(strings.TrimPrefix(n, "/"), ContainerName(""))
		if ok && id != "" && !strings.HasPrefix(id, poolPrefix) {
			return id
		}
	}
	return ""
}
