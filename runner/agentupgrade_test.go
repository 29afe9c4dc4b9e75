package runner_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

// TestAgentUpgradeInPlace: a running sandbox's agent is replaced by one
// built at another version while an exec stream is open in another
// session. The container keeps running (same StartedAt), the upgrade
// reports the new version (read from the new agent's banner, as the
// inventory does), a new session works, and the open stream completes on
// the old agent with its output and exit code. Then a hostile tenant
// (root in the sandbox) can neither write the agents directory nor make
// the agent run a binary of its own as the "new agent".
func TestAgentUpgradeInPlace(t *testing.T) {
	b := dockerBackend(t)
	const newVersion = "v9.9.9-inplace"
	dir := t.TempDir()
	agentPath := filepath.Join(dir, "codepod-agent")
	copyFile(t, testenv.AgentBinary(t), agentPath)
	r := handleRunner(t, b, func(cfg *runner.Config) { cfg.AgentBinary = agentPath })
	p := payload(randID("sb_"))
	mustHandle(t, r, job(wire.KindCreate, p))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	startedAt := inspect(t, b, p.ID).State.StartedAt

	// Session 1: a stream that waits for its input.
	c1, err := r.AgentClient(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	s1, err := c1.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := s1.StdinPipe()
	var out1 bytes.Buffer
	s1.Stdout = &out1
	if err := s1.Start(`sh -c 'echo started; read x; echo got $x; exit 7'`); err != nil {
		t.Fatal(err)
	}

	// The runner's agent binary becomes one at another version (a rename,
	// as an install would: the running agent's bind keeps its file).
	newBin := filepath.Join(dir, "new-agent")
	build := exec.Command("go", "build", "-ldflags", "-X github.com/codepod-dev/codepod/internal/version.Version="+newVersion,
		"-o", newBin, "./cmd/codepod-agent")
	build.Dir, build.Env = "..", append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the new agent: %v\n%s", err, out)
	}
	if err := os.Rename(newBin, agentPath); err != nil {
		t.Fatal(err)
	}
	got, err := r.UpgradeAgent(ctx, p.ID)
	if err != nil {
		logs, _ := exec.Command("docker", "logs", docker.ContainerName(p.ID)).CombinedOutput()
		t.Fatalf("upgrade: %v\nagent log:\n%s", err, logs)
	}
	if got != newVersion {
		t.Fatalf("after the upgrade the agent reports %q, want %q", got, newVersion)
	}
	inv, err := r.Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range inv {
		if s.ID == p.ID && (s.AgentVersion != newVersion || s.State != wire.StateRunning) {
			t.Fatalf("inventory: %+v, want running with agent %s", s, newVersion)
		}
	}

	// A new session reaches the new agent and works.
	c2, err := r.AgentClient(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if v := agent.BannerVersion(string(c2.ServerVersion())); v != newVersion {
		t.Fatalf("a new session's agent is %q, want %q", v, newVersion)
	}
	if out, err := run(c2, "echo new session"); err != nil || out != "new session\n" {
		t.Fatalf("new session: %q, %v", out, err)
	}

	// The old stream finishes on the old agent.
	if _, err := stdin.Write([]byte("hello\n")); err != nil {
		t.Fatalf("write to the open stream: %v", err)
	}
	stdin.Close()
	err = s1.Wait()
	if ee, ok := err.(interface{ ExitStatus() int }); !ok || ee.ExitStatus() != 7 {
		t.Fatalf("open stream ended with %v, want exit 7", err)
	}
	if out1.String() != "started\ngot hello\n" {
		t.Fatalf("open stream printed %q", out1.String())
	}
	if st := inspect(t, b, p.ID).State; !st.Running || st.StartedAt != startedAt {
		t.Fatalf("container after the upgrade: running %v since %s, want running since %s", st.Running, st.StartedAt, startedAt)
	}

	// Hostile tenant: the agents directory is read-only to root inside.
	for _, cmd := range []string{"ln -s / /.codepod/agents/x", "cp /bin/busybox /.codepod/agents/evil", "rm -f /.codepod/agents/*", "mount -o remount,rw /.codepod/agents"} {
		if out, err := run(c2, cmd); err == nil {
			t.Fatalf("root in the sandbox ran %q: %q", cmd, out)
		}
	}
	// ...and a binary of its own is refused as the new agent, wherever it
	// is and whatever hash the order names.
	if _, err := run(c2, "cp /bin/busybox /tmp/evil"); err != nil {
		t.Fatal(err)
	}
	evilSum, err := run(c2, "sha256sum /tmp/evil")
	if err != nil {
		t.Fatal(err)
	}
	evilSum = strings.Fields(evilSum)[0]
	staged := stagedSum(t, agentPath)
	for _, o := range []agent.UpgradeOrder{
		{Path: "/tmp/evil", SHA256: evilSum},
		{Path: "/.codepod/agents/../../tmp/evil", SHA256: evilSum},
		{Path: "/.codepod/agents/" + staged, SHA256: evilSum},
		{Path: "/.codepod/agents/" + staged, SHA256: ""},
	} {
		if err := r.RequestAgentUpgrade(ctx, p.ID, o); err == nil {
			t.Fatalf("the agent accepted %+v", o)
		}
	}
	if c3, err := r.AgentClient(ctx, p.ID); err != nil {
		t.Fatalf("after the refusals: %v", err)
	} else if v := agent.BannerVersion(string(c3.ServerVersion())); v != newVersion {
		t.Fatalf("after the refusals the agent is %q, want %q", v, newVersion)
	} else {
		c3.Close()
	}
	// The host side holds only what the runner staged.
	ents, err := os.ReadDir(filepath.Join(r.SandboxDir(p.ID), "..", "..", "agents"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != staged || !ents[0].Type().IsRegular() {
		t.Fatalf("agents directory on the host: %v", ents)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func stagedSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// run runs cmd in a new session of c and returns its combined output.
func run(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}
