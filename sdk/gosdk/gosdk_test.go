// Package gosdk_test runs the Go SDK's tests from the main module. sdk/go
// is a module of its own (what `go get github.com/codepod-dev/codepod/sdk/go`
// fetches), so the repository's `go test ./...` does not descend into it:
// this package does, as a package of its own so that it runs beside the
// other SDKs' suites in ./sdk rather than after them.
package gosdk_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// goEnv is this process's environment without what would point the Go SDK's
// tests at another server or change how the go command resolves modules.
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CODEPOD_SERVER_URL", "CODEPOD_API_KEY", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func goCmd(t *testing.T, args ...string) string {
	t.Helper()
	goBin := testenv.Command(t, "go")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir, cmd.Env = filepath.Join(testenv.RepoRoot(), "sdk", "go"), goEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s in sdk/go: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestGoSDK runs go vet and the Go SDK's tests (its TestMain starts a
// cluster of its own; without Docker they skip, and fail in CI).
func TestGoSDK(t *testing.T) {
	goCmd(t, "vet", "./...")
	out := goCmd(t, "test", "-count=1", "-timeout", "15m", "./...")
	t.Logf("go test ./... in sdk/go:\n%s", out)
}

// TestGoSDKModule checks that sdk/go's go.mod and go.sum are tidy: they
// list what the SDK and its tests import, nothing else (no tool's
// dependencies). The graph below it still holds what the main module's
// go.mod requires.
func TestGoSDKModule(t *testing.T) {
	goCmd(t, "mod", "tidy", "-diff")
	gomod, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "sdk", "go", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"github.com/go-task/task", "github.com/oapi-codegen/oapi-codegen", "github.com/aws/", "cloud.google.com/"} {
		if strings.Contains(string(gomod), tool) {
			t.Errorf("sdk/go/go.mod requires %s, a tool's dependency:\n%s", tool, gomod)
		}
	}
}
