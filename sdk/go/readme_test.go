package codepod_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// TestReadmeQuickstart checks that README.md shows examples/quickstart
// exactly, and runs that program against the cluster.
func TestReadmeQuickstart(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(), "sdk", "go")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "examples", "quickstart", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(readme)
	if block == nil || string(block[1]) != string(src) {
		t.Fatal("README.md's ```go block differs from examples/quickstart/main.go: copy the file into the README")
	}
	url, key := sdktest.Shared(t)
	cmd := exec.Command("go", "run", "./examples/quickstart")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CODEPOD_SERVER_URL="+url, "CODEPOD_API_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/quickstart: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`^hello from [a-z0-9-]+ - exit code 0\nhi there\ntimed out: true\n$`)
	if !want.Match(out) {
		t.Errorf("quickstart printed:\n%s\nwant it to match %s", out, strings.TrimSpace(want.String()))
	}
}
