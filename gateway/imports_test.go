package gateway_test

import (
	osexec "os/exec"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestGatewayImportsNoServerPackage keeps the gateway below the server: it
// may use the domain package, but not the API, control, the store or the
// runner (they use it, not the other way round).
func TestGatewayImportsNoServerPackage(t *testing.T) {
	const mod = "github.com/codepod-dev/codepod"
	cmd := osexec.Command("go", "list", "-deps", "./gateway")
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"/api", "/control", "/store", "/runner"} {
			if dep == mod+bad || strings.HasPrefix(dep, mod+bad+"/") {
				t.Errorf("gateway depends on %s", dep)
			}
		}
	}
}
