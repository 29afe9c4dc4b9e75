package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

// tinyPool is a warm pool of tiny sandboxes of poolPayload's shape.
func tinyPool(size int) runner.PoolSpec {
	p, err := runner.ParsePoolSpec(codepod.TinyImage + "=" + string(rune('0'+size)) + ",cpu=0.5,memory=64m")
	if err != nil {
		panic(err)
	}
	return p
}

// poolPayload is a create that a tinyPool member can serve: default pids
// limit (and no environment of its own: tests that want one set it).
func poolPayload(id string) *wire.SandboxPayload {
	p := payload(id)
	p.Env, p.PidsLimit = nil, 0
	return p
}

// waitReady waits until r holds n ready members in its first pool.
func waitReady(t *testing.T, r *runner.Runner, n int) {
	t.Helper()
	waitFor(t, time.Minute, "a full warm pool", func() bool {
		wp := r.WarmPools()
		return len(wp) > 0 && wp[0].Ready == n
	})
}

// poolContainers lists the runner's unadopted pool containers by name.
func poolContainers(t *testing.T, b *docker.Backend, runnerID string) []runner.PoolMember {
	t.Helper()
	list, err := b.ListPoolMembers(context.Background(), runnerID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestAnAdoptedSandboxCarriesNothingOfThePoolButTheImage(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	cfg.Pools = []runner.PoolSpec{tinyPool(1)}
	rr := startRunner(t, cfg)
	t.Cleanup(func() { removeRunnerContainers(t, b, rr.r.ID()) })
	waitReady(t, rr.r, 1)
	members := poolContainers(t, b, rr.r.ID())
	if len(members) != 1 {
		t.Fatalf("%d pool containers, want 1", len(members))
	}
	// Whatever the pool's creation left inside is what a tenant could see:
	// the member must look like a fresh container of the image.
	pooled := docker.ContainerName(members[0].ID)
	before := mustExec(t, pooled, "cat", "/proc/1/environ")

	p := poolPayload(randID("sb_"))
	create := job(wire.KindCreate, p)
	f.enqueue(create)
	res := f.waitResult(t, create.ID, time.Minute)
	if !res.OK || res.ContainerID != members[0].ContainerID {
		t.Fatalf("create %+v did not adopt the pool's container %s", res, members[0].ContainerID)
	}
	// The rename to the sandbox's name follows the result.
	name := docker.ContainerName(p.ID)
	waitFor(t, time.Minute, "the adopted container's rename", func() bool {
		_, err := b.Client().ContainerInspect(context.Background(), name)
		return err == nil
	})
	c := inspect(t, b, p.ID)
	for _, k := range []string{docker.LabelOwner, docker.LabelSandbox, docker.LabelName} {
		if v, ok := c.Config.Labels[k]; ok {
			t.Errorf("adopted container carries label %s=%q from before its tenant", k, v)
		}
	}
	if env := mustExec(t, name, "cat", "/proc/1/environ"); env != before || strings.Contains(env, "pool-") {
		t.Errorf("PID 1's environment changed or names the pool: %q", env)
	}
	if got := strings.TrimSpace(mustExec(t, name, "ls", "-A", "/root", "/tmp")); got != "/root:\n\n/tmp:" {
		t.Errorf("files left in /root or /tmp: %q", got)
	}
	// Only the agent and the image's command run: nothing the pool started.
	// (ps itself is the docker exec's.)
	var comms []string
	for _, l := range strings.Split(strings.TrimSpace(mustExec(t, name, "ps", "-o", "comm")), "\n")[1:] {
		comms = append(comms, strings.TrimSpace(l))
	}
	comms = slices.DeleteFunc(comms, func(c string) bool { return c == "sh" }) // the image's command, if still up
	slices.Sort(comms)
	if want := []string{"codepod-agent", "ps"}; !slices.Equal(comms, want) {
		t.Errorf("processes in the adopted sandbox: %q, want %q", comms, want)
	}
	// The agent now authenticates the tenant, with the tenant's files.
	etc := filepath.Join(rr.r.SandboxDir(p.ID), "etc")
	if id, _ := os.ReadFile(filepath.Join(etc, runner.FileSandboxID)); strings.TrimSpace(string(id)) != p.ID {
		t.Errorf("sandbox_id %q, want %s", id, p.ID)
	}
	if sec, _ := os.ReadFile(filepath.Join(etc, runner.FileSSHSecret)); string(sec) != string(p.SSHSecret) {
		t.Errorf("ssh_secret is not the sandbox's")
	}
	// The pool refills with a new container and a new host key.
	waitReady(t, rr.r, 1)
	next := poolContainers(t, b, rr.r.ID())
	if len(next) != 1 || next[0].ContainerID == members[0].ContainerID {
		t.Fatalf("refilled pool %+v", next)
	}
	waitInventory(t, f, p.ID, wire.StateRunning, res.HostKeyFingerprint)
	noMembersInInventory(t, f)

	// Delete destroys it: it never goes back to the pool.
	del := job(wire.KindDelete, p)
	f.enqueue(del)
	if r := f.waitResult(t, del.ID, time.Minute); !r.OK {
		t.Fatalf("delete %+v", r)
	}
	if _, err := b.Client().ContainerInspect(context.Background(), members[0].ContainerID); err == nil {
		t.Error("the adopted container outlived its sandbox")
	}
	if _, err := os.Lstat(rr.r.SandboxDir(p.ID)); !os.IsNotExist(err) {
		t.Errorf("sandbox directory left: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(cfg.StateDir, "pool")); len(ents) != 1 {
		t.Errorf("pool directories %v, want only the new member's", ents)
	}
}

func TestTwoCreatesRacingForOneWarmSandboxGetTwoSandboxes(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	cfg := fastConfig(t, f, b, t.TempDir())
	cfg.Pools = []runner.PoolSpec{tinyPool(1)}
	rr := startRunner(t, cfg)
	t.Cleanup(func() { removeRunnerContainers(t, b, rr.r.ID()) })
	waitReady(t, rr.r, 1)

	p1, p2 := poolPayload(randID("sb_")), poolPayload(randID("sb_"))
	p1.Env, p2.Env = map[string]string{"WHO": "one"}, map[string]string{"WHO": "two"}
	j1, j2 := job(wire.KindCreate, p1), job(wire.KindCreate, p2)
	f.enqueue(j1, j2) // one delivery: the two run at once
	r1, r2 := f.waitResult(t, j1.ID, time.Minute), f.waitResult(t, j2.ID, time.Minute)
	if !r1.OK || !r2.OK {
		t.Fatalf("creates: %+v, %+v", r1, r2)
	}
	if r1.ContainerID == r2.ContainerID || r1.HostKeyFingerprint == r2.HostKeyFingerprint {
		t.Fatalf("two sandboxes share a container or host key: %+v, %+v", r1, r2)
	}
	adopted := 0
	for _, p := range []*wire.SandboxPayload{p1, p2} {
		c := inspectRenamed(t, b, p.ID)
		if !c.State.Running {
			t.Errorf("sandbox %s does not run", p.ID)
		}
		// The one that adopted the member has its environment in its own
		// directory (the agent gives it to sessions); the one made cold has
		// it in its container's.
		got, err := os.ReadFile(filepath.Join(rr.r.SandboxDir(p.ID), "etc", agent.SandboxEnvFile))
		switch {
		case c.Config.Labels[docker.LabelPool] != "":
			adopted++
			if want := `{"WHO":"` + p.Env["WHO"] + `"}`; string(got) != want {
				t.Errorf("adopted sandbox %s's env file %q (%v), want %s", p.ID, got, err, want)
			}
		case err == nil:
			t.Errorf("cold sandbox %s has an env file %q", p.ID, got)
		case !slices.Contains(c.Config.Env, "WHO="+p.Env["WHO"]):
			t.Errorf("cold sandbox %s's container env %q", p.ID, c.Config.Env)
		}
	}
	if adopted != 1 {
		t.Errorf("%d of the two creates adopted the one warm sandbox, want 1", adopted)
	}
	// No pool member's directory holds a tenant's environment.
	waitReady(t, rr.r, 1)
	if m, _ := filepath.Glob(filepath.Join(cfg.StateDir, "pool", "*", "etc", agent.SandboxEnvFile)); len(m) != 1 {
		t.Errorf("env files under the pool directory: %v, want only the adopted member's", m)
	}
}

func TestARunnerThatDiesWithAPoolLosesNoUserSandbox(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	state := t.TempDir()
	cfg := fastConfig(t, f, b, state)
	cfg.Pools = []runner.PoolSpec{tinyPool(2)}
	rr := startRunner(t, cfg)
	t.Cleanup(func() { removeRunnerContainers(t, b, rr.r.ID()) })
	waitReady(t, rr.r, 2)
	p := poolPayload(randID("sb_"))
	create := job(wire.KindCreate, p)
	f.enqueue(create)
	res := f.waitResult(t, create.ID, time.Minute)
	if !res.OK {
		t.Fatalf("create %+v", res)
	}
	old := poolContainers(t, b, rr.r.ID())
	if err := rr.stop(t); err != nil {
		t.Fatal(err)
	}

	again := startRunner(t, cfg)
	if again.r.ID() != rr.r.ID() {
		t.Fatalf("the restarted runner is %s, was %s", again.r.ID(), rr.r.ID())
	}
	waitReady(t, again.r, 2)
	now := poolContainers(t, b, again.r.ID())
	for _, m := range now {
		if slices.ContainsFunc(old, func(o runner.PoolMember) bool { return o.ContainerID == m.ContainerID }) {
			t.Errorf("the restarted runner kept pool container %s of unknown state", m.ID)
		}
	}
	if c := inspectRenamed(t, b, p.ID); !c.State.Running || c.ID != res.ContainerID {
		t.Fatalf("the user's sandbox did not survive the restart: %s running=%v", c.ID, c.State.Running)
	}
	waitInventory(t, f, p.ID, wire.StateRunning, res.HostKeyFingerprint)
}

// noMembersInInventory checks that no poll reported a pool member as a
// sandbox (the server would take it for an orphan), and that polls carry
// the pools' ready counts.
func noMembersInInventory(t *testing.T, f *fakeServer) {
	t.Helper()
	reported := false
	for _, p := range f.pollsSeen() {
		for _, s := range p.Req.Sandboxes {
			if strings.HasPrefix(s.ID, "pool-") {
				t.Errorf("a poll listed pool member %s as a sandbox", s.ID)
			}
		}
		reported = reported || (len(p.Req.WarmPools) == 1 && p.Req.WarmPools[0].Size > 0)
	}
	if !reported {
		t.Error("no poll reported the warm pool")
	}
}

// A runner that died between an adoption's result and its container's
// rename (which follows the result) finishes the rename when it starts
// again: the sandbox keeps its container, found by its name.
func TestAnAdoptionCutShortIsFinishedOnRestart(t *testing.T) {
	f := newFakeServer(t)
	b := dockerBackend(t)
	state := t.TempDir()
	cfg := fastConfig(t, f, b, state)
	cfg.Pools = []runner.PoolSpec{tinyPool(1)}
	rr := startRunner(t, cfg)
	t.Cleanup(func() { removeRunnerContainers(t, b, rr.r.ID()) })
	waitReady(t, rr.r, 1)
	if err := rr.stop(t); err != nil {
		t.Fatal(err)
	}
	members := poolContainers(t, b, rr.r.ID())
	if len(members) != 1 {
		t.Fatalf("%d pool containers, want 1", len(members))
	}
	// What an adoption leaves before its rename: the sandbox's directory
	// is a link to the member's, whose sandbox_id names the sandbox.
	id := randID("sb_")
	if err := os.MkdirAll(filepath.Join(state, "sandboxes"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "pool", members[0].ID), rr.r.SandboxDir(id)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rr.r.SandboxDir(id), "etc", runner.FileSandboxID), []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	again := startRunner(t, cfg)
	waitReady(t, again.r, 1)
	if c := inspect(t, b, id); !c.State.Running || c.ID != members[0].ContainerID {
		t.Fatalf("sandbox %s's container %s (running %v), want the adopted member's %s", id, c.ID, c.State.Running, members[0].ContainerID)
	}
	for _, m := range poolContainers(t, b, again.r.ID()) {
		if m.ContainerID == members[0].ContainerID {
			t.Errorf("the adopted container is still listed as pool member %s", m.ID)
		}
	}
	waitFor(t, time.Minute, "the sandbox in an inventory", func() bool {
		for _, p := range f.pollsSeen() {
			for _, s := range p.Req.Sandboxes {
				if s.ID == id {
					return true
				}
			}
		}
		return false
	})
}
