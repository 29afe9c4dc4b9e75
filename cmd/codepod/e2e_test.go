package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSandboxLifecycle drives a sandbox through the CLI against a real server
// and runner: create --wait, stop, start, delete, and checks what Docker and
// the runner's state directory hold at each step.
func TestSandboxLifecycle(t *testing.T) {
	c := newCluster(t)
	state := t.TempDir()
	c.startRunner("r1", state)

	id := c.must("sandbox", "create", "life", "--image", "codepod/tiny:latest", "--memory", "64m", "--wait", "--timeout", "60s")
	s := c.get("life")
	if s.ID != id || s.Status != "running" || !strings.HasPrefix(s.HostKey, "SHA256:") {
		t.Fatalf("after create --wait: %+v", s)
	}
	if got := containers(t, id); len(got) != 1 || !strings.HasSuffix(got[0], "running") {
		t.Fatalf("containers after create: %v", got)
	}
	hostDir := filepath.Join(state, "sandboxes", id)
	if _, err := os.Stat(hostDir); err != nil {
		t.Fatalf("host directory: %v", err)
	}

	c.must("sandbox", "stop", "life")
	c.waitStatus("life", "stopped", 30*time.Second)
	if got := containers(t, id); len(got) != 1 || !strings.HasSuffix(got[0], "exited") {
		t.Fatalf("containers after stop: %v", got)
	}
	c.must("sandbox", "start", id)
	c.waitStatus(id, "running", 30*time.Second)

	c.must("sandbox", "delete", "life")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(containers(t, id)) > 0 {
		time.Sleep(200 * time.Millisecond)
	}
	if got := containers(t, id); len(got) != 0 {
		t.Fatalf("containers after delete: %v", got)
	}
	if _, err := os.Stat(hostDir); !os.IsNotExist(err) {
		t.Fatalf("host directory after delete: %v", err)
	}
	if _, errOut, code := c.cli("sandbox", "get", "life"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("get after delete: exit %d, %q", code, errOut)
	}
	// The name is free again.
	c.must("sandbox", "create", "life", "--image", "codepod/tiny:latest", "--wait")
	c.must("sandbox", "delete", "life")
}

// TestCLIErrors checks that bad input is a clear message and a non-zero exit,
// and leaves nothing behind.
func TestCLIErrors(t *testing.T) {
	c := newCluster(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sandbox", "create", "--memory", "12zb"}, "memory"},
		{[]string{"sandbox", "create", "--image", "Bad Image!"}, "image"},
		{[]string{"sandbox", "create", "--network", "host"}, "network"},
		{[]string{"sandbox", "create", "--ttl", "banana"}, "ttl"},
		{[]string{"sandbox", "create", "--env", "1BAD=x"}, "1BAD"},
		{[]string{"sandbox", "get", "nope"}, "not found"},
		{[]string{"sandbox", "stop", "nope"}, "not found"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, errOut, code := c.cli(tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want non-zero and %q", code, errOut, tc.want)
			}
		})
	}
	if out := c.must("sandbox", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("bad requests left sandboxes: %s", out)
	}
	if _, errOut, code := c.cliAs("cpk_key_aaaaaaaaaaaaaaaa_"+strings.Repeat("A", 43), "sandbox", "list"); code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("wrong key: exit %d, %q", code, errOut)
	}
}

// TestSecondRunnerTakesOverflow fills a runner with capacity 1 and checks the
// next sandbox waits with a reason, then lands on a second runner.
func TestSecondRunnerTakesOverflow(t *testing.T) {
	c := newCluster(t)
	c.startRunner("small", t.TempDir(), "--capacity-sandboxes", "1")
	first := c.must("sandbox", "create", "one", "--image", "codepod/tiny:latest", "--wait")
	second := c.must("sandbox", "create", "two", "--image", "codepod/tiny:latest")
	time.Sleep(time.Second)
	s := c.get(second)
	if s.Status != "pending" || s.Reason == "" {
		t.Fatalf("second sandbox on a full runner: %+v, want pending with a reason", s)
	}
	c.startRunner("spare", t.TempDir())
	s = c.waitStatus(second, "running", 60*time.Second)
	if s.RunnerID == c.get(first).RunnerID {
		t.Fatalf("both sandboxes on runner %s", s.RunnerID)
	}
	c.must("sandbox", "delete", first, second)
}

// TestRunnerKilledMidCreate kills the runner with SIGKILL while it holds a
// create job, restarts it on the same state directory, and checks the
// sandbox ends up running with exactly one container.
func TestRunnerKilledMidCreate(t *testing.T) {
	c := newCluster(t)
	state := t.TempDir()
	r := c.startRunner("victim", state)
	id := c.must("sandbox", "create", "phoenix", "--image", "codepod/tiny:latest")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st := c.get(id).Status; st != "pending" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.kill()
	c.startRunner("victim", state)
	s := c.waitStatus(id, "running", 60*time.Second)
	if got := containers(t, id); len(got) != 1 || !strings.HasSuffix(got[0], "running") {
		t.Fatalf("containers after the runner came back: %v (sandbox %+v)", got, s)
	}
	c.must("sandbox", "delete", id)
}
