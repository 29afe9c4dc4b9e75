package sdk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// sdkDir is the directory of one SDK.
func sdkDir(name string) string { return filepath.Join(testenv.RepoRoot(), "sdk", name) }

// run runs a command in dir with extra environment and fails the test with
// its output when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out.String())
	}
	return out.String()
}

// serverEnv is the environment that points an SDK at the shared cluster.
func serverEnv(t *testing.T) []string {
	url, key := sdktest.Shared(t)
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") != "" { // the code-context tests run on codepod/base
		bin, err := sdktest.Binaries()
		if err == nil {
			err = sdktest.BaseImage(filepath.Join(bin, "codepod"))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return []string{"CODEPOD_SERVER_URL=" + url, "CODEPOD_API_KEY=" + key}
}

func TestPythonSDK(t *testing.T) {
	t.Parallel()
	py := testenv.Command(t, "python3")
	env := serverEnv(t)
	out := run(t, sdkDir("python"), append(env, "PYTHONDONTWRITEBYTECODE=1"), py, "-m", "unittest", "discover", "-v")
	t.Logf("python3 -m unittest discover:\n%s", out)
}

func TestTypeScriptSDK(t *testing.T) {
	t.Parallel()
	npm := npmInstalled(t)
	env := serverEnv(t)
	out := run(t, sdkDir("typescript"), env, npm, "test")
	t.Logf("npm test:\n%s", out)
}

// TestTypeScriptTypesUpToDate regenerates the TypeScript SDK's types from
// openapi.yaml with the pinned openapi-typescript and fails when the
// committed file differs.
func TestTypeScriptTypesUpToDate(t *testing.T) {
	npm := npmInstalled(t)
	run(t, sdkDir("typescript"), nil, npm, "run", "--silent", "check:generated")
}

// TestWebUITypes type-checks the web UI's scripts (web/tsconfig.json: the
// files marked // @ts-check) against the API types generated from
// openapi.yaml, with the TypeScript SDK's pinned tsc: a field the UI reads
// that the API renamed or dropped fails here.
func TestWebUITypes(t *testing.T) {
	npmInstalled(t)
	tsc := filepath.Join(sdkDir("typescript"), "node_modules", ".bin", "tsc")
	run(t, filepath.Join(testenv.RepoRoot(), "web"), nil, tsc, "-p", ".")
}

var (
	npmOnce sync.Once
	npmErr  string
)

// npmInstalled makes sure the TypeScript SDK's node_modules match its
// package-lock.json (npm ci when they are missing or the lock changed) and
// returns npm's path.
func npmInstalled(t *testing.T) string {
	t.Helper()
	testenv.Command(t, "node")
	npm := testenv.Command(t, "npm")
	npmOnce.Do(func() {
		dir := sdkDir("typescript")
		lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			npmErr = err.Error()
			return
		}
		sum := sha256.Sum256(lock)
		stamp := filepath.Join(dir, "node_modules", ".codepod-lock-sha256")
		if b, err := os.ReadFile(stamp); err == nil && string(b) == hex.EncodeToString(sum[:]) {
			return
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = "npm ci: " + err.Error() + "\n" + string(out)
			return
		}
		os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644)
	})
	if npmErr != "" {
		t.Fatal(npmErr)
	}
	return npm
}
