package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/wire"
)

// poolRetry is how long a pool waits after a member failed to come up.
const poolRetry = 5 * time.Second

// warm is one ready pool member: created, started, its agent answering.
type warm struct {
	id, containerID, fingerprint string
}

// pools keeps the runner's warm pools full. Members are taken under mu, so
// two creates never get the same one; a taken member is never given back
// (it is adopted or destroyed).
type pools struct {
	r     *Runner
	be    PoolBackend
	specs []PoolSpec
	wake  chan struct{}

	mu    sync.Mutex
	ready map[string][]warm // by pool key
}

func newPools(r *Runner) *pools {
	pb, ok := r.cfg.Backend.(PoolBackend)
	if !ok || len(r.cfg.Pools) == 0 {
		return nil
	}
	return &pools{r: r, be: pb, specs: r.cfg.Pools, wake: make(chan struct{}, 1), ready: map[string][]warm{}}
}

// NewPoolMemberID returns a fresh pool member id, "pool-" and 16 hex digits.
func NewPoolMemberID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "pool-" + hex.EncodeToString(b)
}

// take removes and returns a ready member of pool key.
func (ps *pools) take(key string) (warm, bool) {
	if ps == nil || key == "" {
		return warm{}, false
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	list := ps.ready[key]
	if len(list) == 0 {
		return warm{}, false
	}
	w := list[len(list)-1]
	ps.ready[key] = list[:len(list)-1]
	ps.kick()
	return w, true
}

func (ps *pools) kick() {
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

// Ready counts the ready members of each pool key.
func (ps *pools) counts() map[string]int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string]int, len(ps.ready))
	for k, l := range ps.ready {
		out[k] = len(l)
	}
	return out
}

// WarmPools reports each warm pool with its ready count (nil without
// pools); the runner sends it with every poll.
func (r *Runner) WarmPools() []wire.WarmPool {
	if r.pools == nil {
		return nil
	}
	n := r.pools.counts()
	out := make([]wire.WarmPool, 0, len(r.pools.specs))
	for _, s := range r.pools.specs {
		out = append(out, wire.WarmPool{Image: s.Image, CPU: s.CPU, MemoryBytes: s.MemoryBytes, Network: s.Network,
			Runtime: s.Runtime, Size: s.Size, Ready: n[s.Key()]})
	}
	return out
}

// run removes the members an earlier run of this runner left (their
// state is unknown), then refills the pools until ctx ends. Members left
// at the end stay for the next run to remove.
func (ps *pools) run(ctx context.Context) {
	if err := ps.sweep(ctx); err != nil {
		ps.r.log.Warn("cannot remove an earlier run's warm-pool containers", "err", err)
	}
	for ctx.Err() == nil {
		failed := false
		for _, spec := range ps.specs {
			for ctx.Err() == nil && ps.counts()[spec.Key()] < spec.Size {
				if err := ps.fill(ctx, spec); err != nil {
					if ctx.Err() == nil {
						ps.r.log.Warn("cannot make a warm-pool sandbox", "image", spec.Image, "err", err)
					}
					failed = true
					break
				}
			}
		}
		var retry <-chan time.Time
		if failed {
			retry = time.After(poolRetry)
		}
		select {
		case <-ctx.Done():
		case <-ps.wake:
		case <-retry:
		}
	}
}

// fill makes one member of spec's pool and adds it to the ready list once
// its agent answers; a member that fails is removed.
func (ps *pools) fill(ctx context.Context, spec PoolSpec) error {
	r := ps.r
	if err := r.cfg.Backend.EnsureImage(ctx, spec.Image, func(string) {}); err != nil {
		return err
	}
	id := NewPoolMemberID()
	fp, err := r.preparePoolDir(id)
	if err != nil {
		return err
	}
	cs := ContainerSpec{SandboxID: id, Pool: spec.Key(), RunnerID: r.ID(), Image: spec.Image,
		CPU: spec.CPU, MemoryBytes: spec.MemoryBytes, Network: spec.Network, Runtime: r.engineRuntime(spec.Runtime),
		AgentBinary: r.cfg.AgentBinary, EtcDir: filepath.Join(r.poolDir(id), "etc"), AgentsDir: r.agentsDir()}
	cid, err := ps.be.CreatePoolMember(ctx, cs)
	if err == nil {
		err = r.waitReachable(ctx, id, fp)
	}
	if err != nil {
		ps.destroy(context.WithoutCancel(ctx), id)
		return err
	}
	ps.mu.Lock()
	ps.ready[spec.Key()] = append(ps.ready[spec.Key()], warm{id: id, containerID: cid, fingerprint: fp})
	ps.mu.Unlock()
	return nil
}

// destroy removes an unadopted member's container and directory.
func (ps *pools) destroy(ctx context.Context, id string) {
	if err := ps.be.RemovePoolMember(ctx, id); err != nil {
		ps.r.log.Warn("cannot remove a warm-pool container", "member", id, "err", err)
		return
	}
	if err := os.RemoveAll(ps.r.poolDir(id)); err != nil {
		ps.r.log.Warn("cannot remove a warm-pool directory", "member", id, "err", err)
	}
}

// sweep removes every unadopted member of this runner (containers still
// named codepod-pool-…). An adopted member is a user's sandbox: its
// container was renamed, so it is not listed. A member whose adoption was
// cut short (its directory already names a sandbox, its container not yet
// renamed: the rename finishes after the create's result) is renamed now;
// if that fails it loses its container but keeps its directory, and the
// sandbox's create job, run again, makes a container on that directory.
func (ps *pools) sweep(ctx context.Context) error {
	list, err := ps.be.ListPoolMembers(ctx, ps.r.ID())
	if err != nil {
		return err
	}
	for _, m := range list {
		sandboxID, adopted := ps.r.poolDirAdopted(m.ID)
		if !adopted {
			ps.destroy(ctx, m.ID)
			continue
		}
		// Its result may have been reported (the rename comes after it):
		// the sandbox keeps its container. A create delivered again finds
		// it by name and takes the idempotent path.
		if err := ps.be.RenamePoolMember(ctx, m.ID, sandboxID); err == nil {
			continue
		} else {
			ps.r.log.Warn("cannot finish a warm-pool adoption; removing its container", "member", m.ID, "sandbox_id", sandboxID, "err", err)
		}
		if err := ps.be.RemovePoolMember(ctx, m.ID); err != nil {
			ps.r.log.Warn("cannot remove a warm-pool container", "member", m.ID, "err", err)
		}
	}
	return nil
}

// poolDir is <StateDir>/pool/<member id>: the member's etc directory lives
// there; adoption links sandboxes/<sandbox id> to it.
func (r *Runner) poolDir(id string) string { return filepath.Join(r.cfg.StateDir, "pool", id) }

// preparePoolDir makes a member's etc directory with a fresh host key and
// no credential: no token and no key logs in before a create adopts it.
func (r *Runner) preparePoolDir(id string) (string, error) {
	if err := ensurePrivateDir(filepath.Join(r.cfg.StateDir, "pool")); err != nil {
		return "", err
	}
	if err := os.MkdirAll(r.agentsDir(), 0o755); err != nil { // bind-mounted: it must exist
		return "", fmt.Errorf("agents directory: %w", err)
	}
	etc := filepath.Join(r.poolDir(id), "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return "", fmt.Errorf("create pool directory: %w", err)
	}
	fp, err := hostkey.Generate(etc)
	if err != nil {
		return "", fmt.Errorf("pool host key: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(etc, FileAuthorizedKeys), nil, 0o644); err != nil {
		return "", err
	}
	return fp, writeFileAtomic(filepath.Join(etc, FileSandboxID), []byte(id+"\n"), 0o644)
}

// poolDirAdopted reports whether member id's directory was handed to a
// sandbox (its sandbox_id names another id), and that sandbox's id.
func (r *Runner) poolDirAdopted(id string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(r.poolDir(id), "etc", FileSandboxID))
	sb := strings.TrimSpace(string(b))
	return sb, err == nil && sb != id && sb != ""
}

// engineRuntime is the runtime a container of CodePod runtime rt runs
// with: rt, or the runner's default when rt is runc's default.
func (r *Runner) engineRuntime(rt string) string {
	if rt == "" {
		return r.cfg.Runtime
	}
	return rt
}

// writeSandboxEnv gives an adopted sandbox its environment: the member's
// container was made before its tenant was known, so the agent reads the
// variables from etc/env.json (agent.SandboxEnvFile) for every session,
// over the image's and under the session's own. Only the sessions see them,
// not the image's command (started with the pool's environment). The
// file is in this sandbox's directory alone and goes with it.
func (r *Runner) writeSandboxEnv(p *wire.SandboxPayload) error {
	if len(p.Env) == 0 {
		return nil
	}
	b, err := json.Marshal(p.Env)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.sandboxDir(p.ID), "etc", agent.SandboxEnvFile), b, 0o600)
}

// errNoMember: no ready member fits, or adoption failed before anything
// of the sandbox was made; the create takes the cold path.
var errNoMember = errors.New("no warm-pool sandbox")

// adopt gives sandbox p a ready pool member, if one fits: its directory
// becomes the sandbox's (with the sandbox's secret, keys and id written
// into it now) while its agent is probed once more, then its container
// becomes the sandbox's (the backend finds it by container id until the
// rename to the sandbox's name, which goes on after the result). errNoMember sends the create down the cold
// path. The link comes first, so a create delivered again after a crash
// finds the sandbox's directory and takes the idempotent path.
func (r *Runner) adopt(ctx context.Context, p *wire.SandboxPayload) (cid, fp string, err error) {
	if _, err := os.Lstat(r.sandboxDir(p.ID)); err == nil {
		return "", "", errNoMember // made (or adopted) already: the idempotent path finds it
	}
	if len(p.Devcontainer) > 0 {
		return "", "", errNoMember // its agent must start with the devcontainer's settings
	}
	w, ok := r.pools.take(poolKey(p))
	if !ok {
		return "", "", errNoMember
	}
	fail := func() {
		r.pools.destroy(context.WithoutCancel(ctx), w.id)
		os.Remove(r.sandboxDir(p.ID))
	}
	if err := ensurePrivateDir(filepath.Join(r.cfg.StateDir, "sandboxes")); err != nil {
		r.pools.destroy(context.WithoutCancel(ctx), w.id)
		return "", "", err
	}
	if err := os.Symlink(filepath.Join("..", "pool", w.id), r.sandboxDir(p.ID)); err != nil {
		r.pools.destroy(context.WithoutCancel(ctx), w.id)
		return "", "", errNoMember
	}
	probed := make(chan error, 1)
	go func() { probed <- r.probe(ctx, w.id, w.fingerprint) }()
	fp, err = r.prepareDir(p)
	if err == nil {
		err = r.writeSandboxEnv(p)
	}
	if perr := <-probed; err == nil && perr != nil {
		err = perr
	}
	if err == nil && fp != w.fingerprint {
		err = fmt.Errorf("warm-pool sandbox %s changed its host key", w.id)
	}
	if err == nil {
		err = r.pools.be.AdoptPoolMember(ctx, w.id, w.containerID, p.ID)
	}
	if err != nil {
		r.log.Warn("cannot adopt a warm-pool sandbox; creating one", "member", w.id, "sandbox_id", p.ID, "err", err)
		fail()
		return "", "", errNoMember
	}
	return w.containerID, fp, nil
}
