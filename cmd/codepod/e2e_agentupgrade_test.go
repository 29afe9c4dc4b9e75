package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestAgentUpgradeInPlaceCLI: through the server and the CLI, an admin
// replaces a running sandbox's agent (`codepod sandbox agent-upgrade`)
// while `codepod sandbox exec` holds a stream open in another session; the
// sandbox keeps running (same StartedAt), `sandbox get` shows the new
// agent version, and the stream completes with its output and exit code.
func TestAgentUpgradeInPlaceCLI(t *testing.T) {
	const newVersion = "v0.0.2-agentupgrade"
	c := newCluster(t)
	dir := t.TempDir()
	agentPath := filepath.Join(dir, "codepod-agent")
	b, err := os.ReadFile(filepath.Join(binDir, "codepod-agent"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(agentPath, b, 0o755); err != nil {
		t.Fatal(err)
	}
	c.startRunnerBin(filepath.Join(binDir, "codepod"), "r1", t.TempDir(), "--agent-binary", agentPath)
	id := c.must("sandbox", "create", "box", "--image", "codepod/tiny:latest", "--memory", "64m", "--wait", "--timeout", "60s")
	startedAt := containerStartedAt(t, id)

	ex := exec.Command(binaries(t), "sandbox", "exec", "-i", "box", "--", "sh", "-c", "echo started; read x; echo got $x; exit 7")
	ex.Env = c.cliEnv(cliOpts{key: c.AdminKey})
	stdin, err := ex.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	started := make(chan struct{})
	ex.Stdout = writerFunc(func(p []byte) (int, error) {
		if out.Len() == 0 {
			close(started)
		}
		return out.Write(p)
	})
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	<-started // the stream is open on the old agent

	build := exec.Command("go", "build", "-ldflags", "-X github.com/codepod-dev/codepod/internal/version.Version="+newVersion,
		"-o", agentPath+".new", "./cmd/codepod-agent")
	build.Dir, build.Env = testenv.RepoRoot(), append(os.Environ(), "CGO_ENABLED=0")
	if o, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the new agent: %v\n%s", err, o)
	}
	if err := os.Rename(agentPath+".new", agentPath); err != nil {
		t.Fatal(err)
	}
	c.must("sandbox", "agent-upgrade", id)
	var sb struct {
		Status       string `json:"status"`
		AgentVersion string `json:"agent_version"`
	}
	if err := json.Unmarshal([]byte(c.must("sandbox", "get", "box", "-o", "json")), &sb); err != nil {
		t.Fatal(err)
	}
	if sb.AgentVersion != newVersion || sb.Status != "running" {
		t.Fatalf("after the upgrade: %+v, want running with agent %s", sb, newVersion)
	}
	if got := c.must("sandbox", "exec", "box", "--", "echo", "new session"); got != "new session" {
		t.Fatalf("a new exec printed %q", got)
	}
	stdin.Write([]byte("hello\n"))
	stdin.Close()
	err = ex.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("the open exec ended with %v, want exit 7", err)
	}
	if out.String() != "started\ngot hello\n" {
		t.Fatalf("the open exec printed %q", out.String())
	}
	if now := containerStartedAt(t, id); now != startedAt {
		t.Fatalf("the container restarted: StartedAt %s, was %s", now, startedAt)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
