package codepod_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces the package boundaries of docs/architecture.md:
// the domain, the wire protocol, the agent and ssh-over-ws stay leaves, and
// the runner never reaches into the server.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/codepod-dev/codepod"
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{mod, []string{mod + "/", "database/sql", "net/http", "github.com/docker/", "github.com/uptrace/bun"}},
		{mod + "/wire", []string{mod}},
		{mod + "/agent/...", []string{mod + "/api", mod + "/store", mod + "/control", mod + "/runner", "github.com/docker/", "github.com/uptrace/bun"}},
		{mod + "/ssh-over-ws", []string{mod}},
		{mod + "/runner/...", []string{mod + "/api", mod + "/store", mod + "/control"}},
		{mod + "/store", []string{mod + "/api", mod + "/control", mod + "/runner"}},
		{mod + "/control", []string{mod + "/api", mod + "/store", mod + "/runner"}},
		{mod + "/gateway", []string{mod + "/api", mod + "/store", mod + "/control", mod + "/runner"}},
		{mod + "/web", []string{mod}},
		{mod + "/client", []string{mod}},
		{mod + "/mcpserver", []string{mod + "/api", mod + "/store", mod + "/control", mod + "/runner", mod + "/gateway"}},
		{mod + "/devcontainer", []string{mod + "/", "net/http", "github.com/docker/"}}, // the domain root (ToSpec) only
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", r.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", r.pkg, err, out)
			}
			self := strings.TrimSuffix(r.pkg, "/...")
			for _, dep := range strings.Fields(string(out)) {
				if dep == self || strings.HasPrefix(dep, self+"/") {
					continue
				}
				for _, f := range r.forbidden {
					if dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
						t.Errorf("%s imports %s, which it must not", r.pkg, dep)
					}
				}
			}
		})
	}
}
