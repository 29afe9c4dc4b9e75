package codepod_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// toolOnlyModules are modules that only the contributors' tools (the task
// runner, oapi-codegen) need. Their presence in go.mod means a tool's
// dependency leaked into the product's module graph, where every user of
// the module (and of `go run ./cmd/codepod up`) downloads and builds it.
var toolOnlyModules = []string{
	"github.com/go-task/",
	"github.com/oapi-codegen/oapi-codegen/",
	"github.com/hashicorp/go-getter",
	"github.com/aws/aws-sdk-go",
	"cloud.google.com/go",
	"google.golang.org/api",
	"charm.land/",
	"github.com/charmbracelet/",
	"mvdan.cc/sh",
}

// TestGoModHasOnlyProductDependencies keeps go.mod to what the product
// imports: the tools live in tools/go.mod (`go tool -modfile=tools/go.mod
// task`), go.mod has no tool directive, and `go mod tidy` has nothing to
// change.
func TestGoModHasOnlyProductDependencies(t *testing.T) {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "tool" {
			t.Errorf("go.mod:%d: %q: tools belong in tools/go.mod (go get -tool -modfile=tools/go.mod …)", i+1, line)
		}
		for _, m := range toolOnlyModules {
			if len(f) > 0 && strings.HasPrefix(f[0], m) {
				t.Errorf("go.mod:%d: %s is a tool-only dependency; it leaked from tools/go.mod (run `go mod tidy` without -modfile)", i+1, f[0])
			}
		}
	}
	cmd := exec.Command("go", "mod", "tidy", "-diff")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go mod tidy -diff: %v: go.mod/go.sum are not tidy; run `go mod tidy` and commit:\n%s", err, out)
	}
	tools, err := os.ReadFile("tools/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"github.com/go-task/task/v3/cmd/task", "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"} {
		if !strings.Contains(string(tools), tool) {
			t.Errorf("tools/go.mod does not list the tool %s", tool)
		}
	}
}
