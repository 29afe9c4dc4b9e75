package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// oldVersion is the version the test's "old" runner binary is built with.
const oldVersion = "v0.0.1-updatetest"

// buildOldCodepod builds cmd/codepod with internal/version.Version set to
// oldVersion into a temp dir of its own (the runner replaces that copy).
func buildOldCodepod(t *testing.T) string {
	t.Helper()
	binaries(t) // the shared build warms the cache: this build mostly links
	path := filepath.Join(t.TempDir(), "codepod")
	cmd := exec.Command("go", "build", "-ldflags", "-X github.com/codepod-dev/codepod/internal/version.Version="+oldVersion,
		"-o", path, "./cmd/codepod")
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the old codepod: %v\n%s", err, out)
	}
	return path
}

// startRunnerBin is cluster.startRunner with another codepod binary.
func (c *cluster) startRunnerBin(bin, name, stateDir string, extra ...string) *proc {
	c.t.Helper()
	args := append([]string{"runner", "--server", c.URL, "--state-dir", stateDir, "--name", name,
		"--agent-binary", filepath.Join(binDir, "codepod-agent"), "--reconcile-interval", "2s"}, extra...)
	if _, err := os.Stat(filepath.Join(stateDir, "runner.json")); err != nil {
		args = append(args, "--token", c.must("runner-token", "create"))
	}
	p := &proc{}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(append(baseEnv(), c.RunnerEnv...), "CODEPOD_RUNNER_AUTO_UPDATE=")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start runner %s: %v", name, err)
	}
	c.t.Cleanup(func() {
		p.stop()
		if c.t.Failed() {
			c.t.Logf("--- runner %s output ---\n%s", name, p.output())
		}
	})
	return p
}

type listedRunner struct {
	Version     string `json:"version"`
	VersionSkew bool   `json:"version_skew"`
	Status      string `json:"status"`
}

func (c *cluster) onlyRunner() listedRunner {
	c.t.Helper()
	var rs []listedRunner
	if err := json.Unmarshal([]byte(c.must("runner", "list", "-o", "json")), &rs); err != nil || len(rs) != 1 {
		c.t.Fatalf("runner list: %v %+v", err, rs)
	}
	return rs[0]
}

// runnerRow is the fields of runner name's row in `codepod runner list`.
func runnerRow(c *cluster, name string) []string {
	for _, line := range strings.Split(c.must("runner", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == name {
			return f
		}
	}
	return nil
}

// containerStartedAt is when the sandbox's (one) container last started.
func containerStartedAt(t *testing.T, sandboxID string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=dev.codepod.sandbox="+sandboxID).Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) != 1 {
		t.Fatalf("running containers of %s: %q %v", sandboxID, out, err)
	}
	started, err := exec.Command("docker", "inspect", "-f", "{{.State.StartedAt}}", ids[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(started))
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// TestRunnerSelfUpdate: a runner built at an old version shows skew, then,
// started with --auto-update, replaces itself with the server's binary and
// re-executes (same pid) while its sandbox keeps running, and a create
// queued while it was away is done.
func TestRunnerSelfUpdate(t *testing.T) {
	oldBin := buildOldCodepod(t)
	c := newCluster(t)
	var health struct{ Version string }
	resp, err := c.HTTP.Get(c.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health.Version == "" || health.Version == oldVersion {
		t.Fatalf("server version %q: want one other than %s", health.Version, oldVersion)
	}

	state := t.TempDir()
	old := c.startRunnerBin(oldBin, "r1", state)
	keep := c.must("sandbox", "create", "keep", "--image", "codepod/tiny:latest", "--memory", "64m", "--wait", "--timeout", "60s")
	startedAt := containerStartedAt(t, keep)
	if r := c.onlyRunner(); r.Version != oldVersion || !r.VersionSkew {
		t.Fatalf("old runner listed as %+v, want version %s with skew", r, oldVersion)
	}
	if row := runnerRow(c, "r1"); len(row) < 2 || row[len(row)-2] != oldVersion || row[len(row)-1] != "SKEW" {
		t.Fatalf("runner list does not show the old version and SKEW: %q", row)
	}
	// Without --auto-update nothing changes; stop it (its sandbox keeps
	// running) and queue a create while no runner polls.
	old.stop()
	if !strings.Contains(old.output(), "the server runs another version than this runner") {
		t.Errorf("the runner without --auto-update did not warn about the skew; its log:\n%s", old.output())
	}
	queued := c.must("sandbox", "create", "queued", "--image", "codepod/tiny:latest", "--memory", "64m")

	r := c.startRunnerBin(oldBin, "r1", state, "--auto-update")
	pid := r.cmd.Process.Pid
	deadline := time.Now().Add(90 * time.Second)
	var got listedRunner
	for time.Now().Before(deadline) {
		if got = c.onlyRunner(); got.Version == health.Version && got.Status == "online" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got.Version != health.Version || got.VersionSkew {
		t.Fatalf("runner after --auto-update: %+v, want version %s without skew", got, health.Version)
	}
	if r.cmd.ProcessState != nil || r.cmd.Process.Pid != pid {
		t.Fatalf("the runner process ended instead of re-executing itself")
	}
	if !strings.Contains(r.output(), "restarting the runner with its new binary") {
		t.Fatalf("the runner did not restart itself; its log:\n%s", r.output())
	}
	if a, b := fileSHA256(t, oldBin), fileSHA256(t, binaries(t)); a != b {
		t.Fatalf("the runner's binary is not the server's after the update (sha256 %s, want %s)", a, b)
	}
	if row := runnerRow(c, "r1"); len(row) < 2 || row[len(row)-2] != health.Version || row[len(row)-1] != "-" {
		t.Fatalf("runner list after the update: %q, want version %s and no skew", row, health.Version)
	}

	// The sandbox kept running and answers; the queued create was done.
	// A drain longer than the server's runner timeout (5s here) shows the
	// sandbox lost until the restarted runner's first reconcile.
	c.waitStatus("keep", "running", 60*time.Second)
	if now := containerStartedAt(t, keep); now != startedAt {
		t.Fatalf("the sandbox's container was restarted during the update: started %s, then %s", startedAt, now)
	}
	if out := c.must("sandbox", "exec", "keep", "--", "echo", "still here"); out != "still here" {
		t.Fatalf("exec after the update: %q", out)
	}
	if s := c.waitStatus(queued, "running", 60*time.Second); s.ID != queued {
		t.Fatalf("queued sandbox: %+v", s)
	}
	if out := c.must("sandbox", "exec", "queued", "--", "echo", "made"); out != "made" {
		t.Fatalf("exec in the queued sandbox: %q", out)
	}
}

// TestRunnerBinaryNeedsARunnerCredential: the binary routes answer runners
// only, and a platform the server has no binary for is a 404 problem.
func TestRunnerBinaryNeedsARunnerCredential(t *testing.T) {
	c := newCluster(t)
	for _, path := range []string{"/api/v1/runner/binary", "/api/v1/runner/binary/sha256"} {
		req, _ := http.NewRequest("GET", c.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+c.AdminKey)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with an admin key: %d, want 401/403", path, resp.StatusCode)
		}
	}
}
