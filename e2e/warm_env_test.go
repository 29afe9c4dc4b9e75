package e2e_test

import (
	"context"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
)

// TestWarmCreatesWithEnv checks that a create with its own environment
// adopts a warm-pool sandbox, that the variables reach every session
// (exec argv and shell, a second session, a background process) over the
// image's and under the session's own, and that two such creates racing
// for one pool get two sandboxes, each seeing only its own variables.
func TestWarmCreatesWithEnv(t *testing.T) {
	testenv.Docker(t)
	pool, err := runner.ParsePoolSpec(codepod.TinyImage + "=2,memory=64m")
	if err != nil {
		t.Fatal(err)
	}
	c, err := startCluster(testenv.AgentBinary(t), pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// members are the pool's ready container ids, once the pool is full.
	members := func(t *testing.T) []string {
		waitPoolFull(t, c.Runner, 2)
		list, err := c.Docker.ListPoolMembers(ctx, c.runnerID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range list {
			ids = append(ids, m.ContainerID)
		}
		return ids
	}
	create := func(t *testing.T, env map[string]string) *sandbox {
		var sb sandbox
		if err := c.call(ctx, "POST", "/api/v1/sandboxes", map[string]any{"image": codepod.TinyImage, "memory": "64m", "env": env}, &sb, http.StatusCreated); err != nil {
			t.Error(err)
			return nil
		}
		t.Cleanup(func() { deleteSandbox(t, c, sb.ID) })
		return &sb
	}
	containerOf := func(t *testing.T, sb *sandbox) string {
		// An adopted member is renamed to the sandbox's name a moment
		// after the create's result (off the first exec's path).
		for {
			ci, err := c.Docker.Client().ContainerInspect(ctx, docker.ContainerName(sb.ID))
			if err == nil {
				return ci.ID
			}
			if !cerrdefs.IsNotFound(err) || ctx.Err() != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	envOf := func(t *testing.T, sb *sandbox) map[string]string {
		res := c.exec(ctx, t, sb.ID, map[string]any{"command": []string{"env"}})
		if res.ExitCode != 0 {
			t.Fatalf("env: %+v", res)
		}
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				m[k] = v
			}
		}
		return m
	}

	t.Run("a create with env adopts a warm sandbox and every session sees it", func(t *testing.T) {
		pooled := members(t)
		sb := create(t, map[string]string{"WARM_A": "one two", "WARM_OVER": "sandbox", "PATH": "/warm/bin:/usr/bin:/bin"})
		waitRunning(ctx, t, c, sb)
		if id := containerOf(t, sb); !slices.Contains(pooled, id) {
			t.Fatalf("sandbox container %s was made cold, not adopted from the pool %v", id, pooled)
		}
		env := envOf(t, sb)
		if env["WARM_A"] != "one two" || env["WARM_OVER"] != "sandbox" || env["PATH"] != "/warm/bin:/usr/bin:/bin" {
			t.Errorf("first session's env: %v", env)
		}
		// A second session, in the shell form, with a variable of its own
		// over the sandbox's.
		res := c.exec(ctx, t, sb.ID, map[string]any{"shell": `echo "$WARM_A|$WARM_OVER|$PATH"`, "env": map[string]string{"WARM_OVER": "session"}})
		if res.Stdout != "one two|session|/warm/bin:/usr/bin:/bin\n" {
			t.Errorf("second session: %+v", res)
		}
		// A background process.
		p := c.startProcess(ctx, t, sb, map[string]any{"command": []string{"sh", "-c", `echo "$WARM_A"`}})
		var done process
		if err := c.call(ctx, "POST", procPath(sb, p.PID, "/wait?timeout=60"), nil, &done, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		var o processOutput
		if err := c.call(ctx, "GET", procPath(sb, p.PID, "/output"), nil, &o, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if string(o.Data) != "one two\n" {
			t.Errorf("background process printed %q", o.Data)
		}
		// As documented: the container's own PID 1 keeps the pool's
		// environment; the sandbox's reaches sessions only.
		if pid1 := mustDockerExec(t, docker.ContainerName(sb.ID), "cat", "/proc/1/environ"); strings.Contains(pid1, "WARM_") {
			t.Errorf("PID 1's environment changed after adoption: %q", pid1)
		}
	})

	t.Run("two creates with different env racing for one pool", func(t *testing.T) {
		pooled := members(t)
		var wg sync.WaitGroup
		sbs := make([]*sandbox, 2)
		for i, who := range []string{"alice", "bob"} {
			wg.Go(func() { sbs[i] = create(t, map[string]string{"WARM_WHO": who, "WARM_" + strings.ToUpper(who): "yes"}) })
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		ids := map[string]bool{}
		for i, who := range []string{"alice", "bob"} {
			waitRunning(ctx, t, c, sbs[i])
			id := containerOf(t, sbs[i])
			if !slices.Contains(pooled, id) {
				t.Errorf("%s's sandbox was made cold (%s), not adopted from %v", who, id, pooled)
			}
			ids[id] = true
			env := envOf(t, sbs[i])
			other := map[string]string{"alice": "BOB", "bob": "ALICE"}[who]
			if env["WARM_WHO"] != who || env["WARM_"+strings.ToUpper(who)] != "yes" || env["WARM_"+other] != "" || env["WARM_A"] != "" {
				t.Errorf("%s's sandbox sees %v", who, env)
			}
		}
		if len(ids) != 2 {
			t.Errorf("the two creates share a container: %v", ids)
		}
	})
}

// mustDockerExec runs argv in container name with the docker CLI.
func mustDockerExec(t *testing.T, name string, argv ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"exec", name}, argv...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker exec %s %v: %v: %s", name, argv, err, out)
	}
	return string(out)
}
