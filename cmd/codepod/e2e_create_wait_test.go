package main_test

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goneWithin waits until sandbox name is deleted and its containers are
// removed; it fails the test otherwise.
func (c *cluster) goneWithin(name string, d time.Duration) {
	c.t.Helper()
	var list []sandbox
	if err := json.Unmarshal([]byte(c.must("sandbox", "list", "--status", "deleting,deleted,pending,creating,running,error,lost,stopped", "-o", "json")), &list); err != nil {
		c.t.Fatal(err)
	}
	var id string
	for _, s := range list {
		if s.Name == name {
			if s.Status != "deleting" && s.Status != "deleted" {
				c.t.Fatalf("sandbox %s is %s (%s); want it deleted", name, s.Status, s.Reason)
			}
			id = s.ID
		}
	}
	if id == "" {
		c.t.Fatalf("sandbox %s was never created", name)
	}
	deadline := time.Now().Add(d)
	for len(containers(c.t, id)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if got := containers(c.t, id); len(got) > 0 {
		c.t.Fatalf("sandbox %s still has containers %v after %s", name, got, d)
	}
}

// TestCLICreateWait covers create --wait on real Docker: what fails or
// times out is deleted unless --keep-on-failure; start/stop --wait; -q,
// -o yaml and name completion on the sandbox that runs.
func TestCLICreateWait(t *testing.T) {
	c := newCluster(t)
	c.startRunner("r1", t.TempDir())

	t.Run("timeout deletes the sandbox", func(t *testing.T) {
		out, errOut, code := c.cli("sandbox", "create", "hasty", "--image", "codepod/tiny:latest", "--wait", "--timeout", "100ms")
		if code == 0 || !strings.Contains(errOut, "not running after 100ms") || !strings.Contains(errOut, "deleted sandbox hasty") {
			t.Fatalf("create --wait --timeout 100ms: exit %d\nstdout %s\nstderr %s\nwant non-zero, the timeout and the deletion", code, out, errOut)
		}
		c.goneWithin("hasty", 30*time.Second)
	})

	t.Run("failing image deletes the sandbox and prints why", func(t *testing.T) {
		_, errOut, code := c.cli("sandbox", "create", "broken", "--image", "codepod/no-such-image:latest", "--wait", "--timeout", "60s")
		if code == 0 || !strings.Contains(errOut, "did not become running (status error: image") || !strings.Contains(errOut, "codepod/no-such-image") ||
			!strings.Contains(errOut, "deleted sandbox broken") || !strings.Contains(errOut, "\nbroken: error (") {
			t.Fatalf("create of a missing image: exit %d, stderr:\n%s\nwant non-zero, progress lines, the reason and the deletion", code, errOut)
		}
		c.goneWithin("broken", 30*time.Second)
	})

	t.Run("keep-on-failure keeps it", func(t *testing.T) {
		_, errOut, code := c.cli("sandbox", "create", "kept", "--image", "codepod/no-such-image:latest", "--wait", "--timeout", "60s", "--keep-on-failure")
		if code == 0 || !strings.Contains(errOut, "kept sandbox kept") || strings.Contains(errOut, "deleted sandbox") {
			t.Fatalf("create --keep-on-failure: exit %d, stderr:\n%s", code, errOut)
		}
		if s := c.get("kept"); s.Status != "error" || !strings.Contains(s.Reason, "no-such-image") {
			t.Fatalf("kept sandbox: %+v; want error with the reason", s)
		}
		c.must("sandbox", "delete", "kept")
	})

	id := c.must("sandbox", "create", "demo", "--image", "codepod/tiny:latest", "--disk", "256m", "--wait", "--timeout", "60s")

	t.Run("quiet and yaml", func(t *testing.T) {
		if got := c.must("sandbox", "list", "-q"); got != id {
			t.Errorf("sandbox list -q = %q; want %q", got, id)
		}
		y := c.must("sandbox", "get", "demo", "-o", "yaml")
		for _, want := range []string{"id: " + id, "name: demo", "status: running", "image: codepod/tiny:latest", "disk: 256m"} {
			if !strings.Contains(y, want) {
				t.Errorf("sandbox get -o yaml lacks %q:\n%s", want, y)
			}
		}
		if table := c.must("sandbox", "get", "demo"); !regexp.MustCompile(`(?m)^Disk:\s+256m$`).MatchString(table) {
			t.Errorf("sandbox get shows no Disk 256m row:\n%s", table)
		}
		if got := c.must("api-key", "list", "-q"); !strings.HasPrefix(got, "key_") {
			t.Errorf("api-key list -q = %q; want key ids", got)
		}
	})

	t.Run("completion offers sandbox names", func(t *testing.T) {
		out := c.must("__complete", "sandbox", "exec", "")
		if !strings.Contains(out, "demo\trunning") || !strings.Contains(out, ":4") {
			t.Errorf("__complete sandbox exec \"\":\n%s\nwant demo (running) and no file completion", out)
		}
		if out := c.must("__complete", "sandbox", "exec", "demo", "--", ""); strings.Contains(out, "demo") {
			t.Errorf("completion after the sandbox offers sandboxes again:\n%s", out)
		}
		if out := c.must("__complete", "sandbox", "delete", "d"); !strings.Contains(out, "demo") {
			t.Errorf("__complete sandbox delete d:\n%s", out)
		}
	})

	t.Run("stop and start wait", func(t *testing.T) {
		c.must("sandbox", "stop", "demo", "--wait", "--timeout", "60s")
		if s := c.get("demo"); s.Status != "stopped" {
			t.Fatalf("after stop --wait: %s", s.Status)
		}
		c.must("sandbox", "start", "demo", "--wait", "--timeout", "60s")
		if s := c.get("demo"); s.Status != "running" {
			t.Fatalf("after start --wait: %s", s.Status)
		}
	})

	// Last: it kills the server.
	t.Run("server dies mid-session", func(t *testing.T) {
		cmd := exec.Command(binaries(t), "sandbox", "exec", "demo", "--", "sh", "-c", "echo started; sleep 120")
		cmd.Env = c.cliEnv(cliOpts{})
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "started\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("exec printed %q first; stderr %s", line, stderr.String())
		}
		c.server.kill()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("exec did not end within 60s of the server's death")
		}
		if code := cmd.ProcessState.ExitCode(); code != 125 || !strings.Contains(stderr.String(), "connection to sandbox demo was lost") {
			t.Fatalf("exec when the server died: exit %d, stderr %q; want 125 and a message", code, stderr.String())
		}
	})
}

// TestUnknownSubcommand: a typo in a subcommand fails with a suggestion
// (it used to print the group's help and exit 0).
func TestUnknownSubcommand(t *testing.T) {
	cases := []struct {
		args    []string
		unknown string
		suggest string
	}{
		{[]string{"sandbox", "lst"}, `unknown command "lst" for "codepod sandbox"`, "list"},
		{[]string{"sb", "craete"}, `unknown command "craete"`, "create"},
		{[]string{"api-key", "lsit"}, `unknown command "lsit" for "codepod api-key"`, "list"},
		{[]string{"runner-token", "creat"}, `unknown command "creat"`, "create"},
		{[]string{"lst"}, `unknown command "lst" for "codepod"`, ""},
	}
	for _, tc := range cases {
		r := runCmd(t, nil, baseEnv(), binaries(t), tc.args...)
		if r.code == 0 || r.code == 255 || !strings.Contains(string(r.stderr), tc.unknown) || !strings.Contains(string(r.stderr), tc.suggest) {
			t.Errorf("codepod %s: exit %d, stderr %q; want non-zero, %q and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.unknown, tc.suggest)
		}
	}
	if r := runCmd(t, nil, baseEnv(), binaries(t), "sandbox"); r.code != 0 || !strings.Contains(string(r.stdout), "Available Commands") {
		t.Errorf("codepod sandbox alone: exit %d; want its help and 0", r.code)
	}
}
