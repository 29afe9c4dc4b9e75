package agent_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves goroutines behind: every
// session, forward and keep-alive must end when the agent is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestAgentImportsNothingOfTheServer keeps the agent binary free of the
// server's packages and of any Docker client, and checks it builds without
// cgo.
func TestAgentImportsNothingOfTheServer(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/codepod-agent")
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	const mod = "github.com/codepod-dev/codepod"
	// internal/version is the link-time version stamp every binary carries
	// (-X …/internal/version.Version): a leaf of the standard library only.
	allowed := []string{mod + "/agent", mod + "/cmd/codepod-agent", mod + "/internal/version"}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.Contains(pkg, "docker") || strings.Contains(pkg, "moby"):
			t.Errorf("agent depends on %s (no Docker client inside a sandbox)", pkg)
		case strings.HasPrefix(pkg, mod) && !hasAnyPrefix(pkg, allowed):
			t.Errorf("agent depends on %s (only agent/... may be imported)", pkg)
		case pkg == "runtime/cgo":
			t.Errorf("agent needs cgo")
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}
