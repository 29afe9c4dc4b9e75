package runner_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
	"github.com/codepod-dev/codepod/wire"
)

var (
	tinyOnce sync.Once
	tinyErr  error
)

// dockerBackend connects to the engine (skipping or failing as testenv
// decides) and builds codepod/tiny:latest unless it is there (once per
// test binary; package images tests the build itself).
func dockerBackend(tb testing.TB) *docker.Backend {
	tb.Helper()
	testenv.Docker(tb)
	b, err := docker.New(docker.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	tinyOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, tinyErr = images.Ensure(ctx, b, images.Tiny, nil)
	})
	if tinyErr != nil {
		tb.Fatalf("build the tiny image: %v", tinyErr)
	}
	return b
}

func randID(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// handleRunner is a Runner with a made-up identity, for calling Handle
// directly against Docker without a server. Its containers are removed
// when the test ends.
func handleRunner(tb testing.TB, b *docker.Backend, mod ...func(*runner.Config)) *runner.Runner {
	tb.Helper()
	dir := tb.TempDir()
	id := randID("rn_test_")
	if err := runner.SaveState(dir, &runner.State{Server: "http://127.0.0.1:9", RunnerID: id, Credential: "cpr_test"}); err != nil {
		tb.Fatal(err)
	}
	cfg := runner.Config{Server: "http://127.0.0.1:9", StateDir: dir, AgentBinary: testenv.AgentBinary(tb), Backend: b, StopTimeout: 2 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	r, err := runner.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { removeRunnerContainers(tb, b, id) })
	return r
}

func removeRunnerContainers(tb testing.TB, b *docker.Backend, runnerID string) {
	ctx := context.Background()
	list, err := b.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelRunner+"="+runnerID))})
	if err != nil {
		tb.Logf("list containers: %v", err)
		return
	}
	for _, c := range list {
		b.Client().ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
}

// payload is a small tiny-image sandbox on network none.
func payload(id string) *wire.SandboxPayload {
	return &wire.SandboxPayload{
		ID: id, Name: "box-" + id[len(id)-6:], OwnerID: "usr_test", Image: codepod.TinyImage,
		CPU: 0.5, MemoryBytes: 64 << 20, PidsLimit: 100, Network: codepod.NetworkNone,
		Env:            map[string]string{"GREETING": "hello from codepod"},
		SSHSecret:      []byte("0123456789abcdef0123456789abcdef"),
		AuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0000000000000000000000 test"},
	}
}

func job(kind string, p *wire.SandboxPayload) wire.Job {
	return wire.Job{ID: randID("job_"), Kind: kind, SandboxID: p.ID, Attempt: 1,
		LeaseExpiresAt: time.Now().Add(time.Minute), Sandbox: p}
}

// mustHandle runs a job and fails the test unless it succeeded.
func mustHandle(tb testing.TB, r *runner.Runner, j wire.Job) wire.JobResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := r.Handle(ctx, j, nil)
	if !res.OK {
		tb.Fatalf("%s job failed: %s", j.Kind, res.Error)
	}
	return res
}

// dockerExec runs a command in a container with the docker CLI, as a user
// checking by hand would.
func dockerExec(tb testing.TB, name string, argv ...string) (string, error) {
	tb.Helper()
	out, err := exec.Command("docker", append([]string{"exec", name}, argv...)...).CombinedOutput()
	return string(out), err
}

func mustExec(tb testing.TB, name string, argv ...string) string {
	tb.Helper()
	out, err := dockerExec(tb, name, argv...)
	if err != nil {
		tb.Fatalf("docker exec %s %s: %v: %s", name, strings.Join(argv, " "), err, out)
	}
	return out
}

func inspect(tb testing.TB, b *docker.Backend, sandboxID string) container.InspectResponse {
	tb.Helper()
	c, err := b.Client().ContainerInspect(context.Background(), docker.ContainerName(sandboxID))
	if err != nil {
		tb.Fatalf("inspect %s: %v", sandboxID, err)
	}
	return c
}

// inspectRenamed is inspect for a sandbox that may have adopted a warm
// pool member: its container takes the sandbox's name shortly after the
// create's result (the rename is off the create's path), so wait for it.
func inspectRenamed(tb testing.TB, b *docker.Backend, sandboxID string) container.InspectResponse {
	tb.Helper()
	waitFor(tb, time.Minute, "container "+docker.ContainerName(sandboxID), func() bool {
		_, err := b.Client().ContainerInspect(context.Background(), docker.ContainerName(sandboxID))
		return err == nil
	})
	return inspect(tb, b, sandboxID)
}

// countContainers counts containers (any state) labelled with the sandbox id.
func countContainers(tb testing.TB, b *docker.Backend, sandboxID string) int {
	tb.Helper()
	list, err := b.Client().ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelSandbox+"="+sandboxID))})
	if err != nil {
		tb.Fatal(err)
	}
	return len(list)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
