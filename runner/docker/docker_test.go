package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
)

func backend(t testing.TB, cfg docker.Config) *docker.Backend {
	t.Helper()
	testenv.Docker(t)
	b, err := docker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := images.Ensure(ctx, b, images.Tiny, nil); err != nil {
		t.Fatal(err)
	}
	return b
}

func randHex() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// spec is a sandbox spec with real host directories and agent.
func spec(t testing.TB, id string) runner.ContainerSpec {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	if _, err := hostkey.Generate(filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	return runner.ContainerSpec{SandboxID: id, Name: "box", OwnerID: "usr_t", RunnerID: "rn_t", Image: codepod.TinyImage,
		CPU: 0.25, MemoryBytes: 32 << 20, PidsLimit: 64, Network: codepod.NetworkNone,
		AgentBinary: testenv.AgentBinary(t), EtcDir: filepath.Join(dir, "etc")}
}

func TestANameTakenByAForeignContainerIsAConflict(t *testing.T) {
	b := backend(t, docker.Config{})
	ctx := context.Background()
	id := "sb_foreign" + randHex()
	resp, err := b.Client().ContainerCreate(ctx, &container.Config{Image: codepod.TinyImage, Cmd: []string{"true"}}, nil, nil, nil, docker.ContainerName(id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Client().ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})

	_, err = b.CreateSandbox(ctx, spec(t, id))
	if codepod.ErrorCode(err) != codepod.ECONFLICT || !strings.Contains(err.Error(), "did not create") {
		t.Fatalf("create over a foreign container: %v", err)
	}
	if err := b.RemoveSandbox(ctx, id); err != nil { // removal is by name and force: it goes
		t.Fatal(err)
	}
}

func TestTheSandboxBridgeIsMadeWithoutInterContainerTraffic(t *testing.T) {
	name := "codepod-test-sandboxes-" + randHex()
	b := backend(t, docker.Config{Network: name})
	ctx := context.Background()
	t.Cleanup(func() { b.Client().NetworkRemove(context.Background(), name) })
	s := spec(t, "sb_bridge"+randHex())
	s.Network = codepod.NetworkBridge
	if _, err := b.CreateSandbox(ctx, s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.RemoveSandbox(context.Background(), s.SandboxID) })
	n, err := b.Client().NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Driver != "bridge" || n.Options["com.docker.network.bridge.enable_icc"] != "false" {
		t.Fatalf("network %s: driver %s, options %v", name, n.Driver, n.Options)
	}
}

func TestAnExistingBridgeWithTrafficBetweenContainersIsRefused(t *testing.T) {
	name := "codepod-test-open-" + randHex()
	b := backend(t, docker.Config{Network: name})
	ctx := context.Background()
	if _, err := b.Client().NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Client().NetworkRemove(context.Background(), name) })
	s := spec(t, "sb_open"+randHex())
	s.Network = codepod.NetworkBridge
	_, err := b.CreateSandbox(ctx, s)
	if err == nil {
		b.RemoveSandbox(ctx, s.SandboxID)
	}
	if err == nil || !strings.Contains(err.Error(), "enable_icc=false") {
		t.Fatalf("create on a bridge that lets sandboxes talk: %v", err)
	}
}

func TestListSandboxesReportsRunningAndStopped(t *testing.T) {
	b := backend(t, docker.Config{})
	ctx := context.Background()
	runnerID := "rn_list" + randHex()
	ids := []string{"sb_l1" + randHex(), "sb_l2" + randHex()}
	for _, id := range ids {
		s := spec(t, id)
		s.RunnerID = runnerID
		if _, err := b.CreateSandbox(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.RemoveSandbox(context.Background(), id) })
	}
	if err := b.StopSandbox(ctx, ids[1], time.Second); err != nil {
		t.Fatal(err)
	}
	list, err := b.ListSandboxes(ctx, runnerID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range list {
		got[c.SandboxID] = c.Running
	}
	if len(got) != 2 || !got[ids[0]] || got[ids[1]] {
		t.Fatalf("inventory %v, want %s running and %s stopped", got, ids[0], ids[1])
	}
}
