package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// The install tests install each SDK as its README says, into a fresh
// virtualenv, npm project or Go module outside the repository, and run the
// README's quickstart from there against a real server: once configured by
// the environment, once by the CLI's config file only (written by
// `codepod config set`).

// installLine is the first line of the first ```sh block of an SDK's
// README, which must come before any other block: the install command.
func installLine(t *testing.T, sdk string) []string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(sdkDir(sdk), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```(\\w*)\n(.*?)```").FindSubmatch(readme)
	if m == nil || string(m[1]) != "sh" {
		t.Fatalf("sdk/%s/README.md must start with a ```sh block holding the install command", sdk)
	}
	line, _, _ := strings.Cut(string(m[2]), "\n")
	line, _, _ = strings.Cut(line, "#")
	return strings.Fields(line)
}

// readmeBlock is the first ```lang block of an SDK's README.
func readmeBlock(t *testing.T, sdk, lang string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(sdkDir(sdk), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatalf("sdk/%s/README.md has no ```%s block", sdk, lang)
	}
	return string(m[1])
}

// cleanEnv is this process's environment without anything that would point
// an SDK at a server or at the source tree, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CODEPOD_SERVER_URL", "CODEPOD_API_KEY", "XDG_CONFIG_HOME", "PYTHONPATH", "NODE_PATH", "GOFLAGS", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runEnv runs a command in dir with exactly env and returns its output,
// failing the test when it fails.
func runEnv(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

// configDir writes the CLI's config file with `codepod config set` into a
// fresh directory and returns it, for XDG_CONFIG_HOME.
func configDir(t *testing.T, url, key string) string {
	t.Helper()
	bin, err := sdktest.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := cleanEnv("XDG_CONFIG_HOME=" + dir)
	runEnv(t, dir, env, filepath.Join(bin, "codepod"), "config", "set", "SERVER_URL", url)
	runEnv(t, dir, env, filepath.Join(bin, "codepod"), "config", "set", "API_KEY", key)
	if _, err := os.Stat(filepath.Join(dir, "codepod", "config.json")); err != nil {
		t.Fatalf("codepod config set wrote no config.json: %v", err)
	}
	return dir
}

// quickstartOutput is what every README quickstart prints.
var quickstartOutput = regexp.MustCompile(`^hello from [a-z0-9-]+ - exit code 0\nhi there\n\n?timed out: (true|True)\n$`)

// runQuickstart runs a quickstart twice: with the server in the
// environment, and with it in the CLI's config file only.
func runQuickstart(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	url, key := sdktest.Shared(t)
	for _, how := range []struct {
		name string
		env  []string
	}{
		{"environment", cleanEnv(append(env, "CODEPOD_SERVER_URL="+url, "CODEPOD_API_KEY="+key, "XDG_CONFIG_HOME="+t.TempDir())...)},
		{"config file", cleanEnv(append(env, "XDG_CONFIG_HOME="+configDir(t, url, key))...)},
	} {
		out := runEnv(t, dir, how.env, name, args...)
		if !quickstartOutput.MatchString(out) {
			t.Errorf("the quickstart configured by the %s printed:\n%s\nwant it to match %s", how.name, out, quickstartOutput)
		}
	}
}

// TestPythonInstall: `pip install ./sdk/python` into a fresh virtualenv,
// offline (PIP_NO_INDEX: the in-tree build backend needs nothing from
// PyPI), then the README's quickstart from another directory.
func TestPythonInstall(t *testing.T) {
	t.Parallel()
	py := testenv.Command(t, "python3")
	sdktest.Shared(t)
	tmp := t.TempDir()
	venv := filepath.Join(tmp, "venv")
	env := cleanEnv("PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd := exec.Command(py, "-m", "venv", venv)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3 -m venv (Debian needs the python3-venv package): %v\n%s", err, out)
	}

	line := installLine(t, "python")
	if strings.Join(line, " ") != "pip install ./sdk/python" {
		t.Fatalf("sdk/python/README.md's install line is %q, want %q", strings.Join(line, " "), "pip install ./sdk/python")
	}
	root := testenv.RepoRoot()
	runEnv(t, root, env, filepath.Join(venv, "bin", "pip"), line[1:]...)

	// The package is the installed copy, with its type marker and metadata.
	work := filepath.Join(tmp, "work")
	os.Mkdir(work, 0o755)
	out := runEnv(t, work, env, filepath.Join(venv, "bin", "python"), "-c",
		"import codepod, importlib.metadata as m, os; print(codepod.__file__); "+
			"print(os.path.exists(os.path.join(os.path.dirname(codepod.__file__), 'py.typed'))); "+
			"print(m.version('codepod'), m.metadata('codepod')['Requires-Python'])")
	want := filepath.Join(venv, "lib") + "/"
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], want) ||
		lines[1] != "True" || lines[2] != "0.1.0 >=3.10" {
		t.Fatalf("the installed package: got\n%s\nwant its file under %s, py.typed, version 0.1.0 and Requires-Python >=3.10", out, want)
	}

	src := filepath.Join(work, "quickstart.py")
	if err := os.WriteFile(src, []byte(readmeBlock(t, "python", "python")), 0o644); err != nil {
		t.Fatal(err)
	}
	runQuickstart(t, work, env, filepath.Join(venv, "bin", "python"), src)
}

// copyTree copies the files of src to dst, leaving out the directories a
// build or an install makes: dst looks like a fresh clone.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		switch d.Name() {
		case "node_modules", "dist", "dist-examples", "__pycache__":
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTypeScriptInstall: `npm install <clone>/sdk/typescript` into a fresh
// npm project from a copy of the SDK as a clone has it (no node_modules,
// no dist: the package's prepare script installs its own dependencies and
// builds), then the README's quickstart, compiled against the installed
// package's type declarations, with node.
func TestTypeScriptInstall(t *testing.T) {
	t.Parallel()
	testenv.Command(t, "node")
	npm := testenv.Command(t, "npm")
	sdktest.Shared(t)
	tmp := t.TempDir()
	clone := filepath.Join(tmp, "codepod", "sdk", "typescript")
	copyTree(t, sdkDir("typescript"), clone)
	proj := filepath.Join(tmp, "proj")
	os.Mkdir(proj, 0o755)
	if err := os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name": "quickstart", "private": true, "type": "module"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("npm_config_audit=false", "npm_config_fund=false", "npm_config_update_notifier=false")

	line := installLine(t, "typescript")
	if len(line) != 3 || line[0] != "npm" || line[1] != "install" || !strings.HasSuffix(line[2], "/sdk/typescript") {
		t.Fatalf("sdk/typescript/README.md's install line is %q, want npm install <path>/sdk/typescript", strings.Join(line, " "))
	}
	runEnv(t, proj, env, npm, "install", clone)
	if _, err := os.Stat(filepath.Join(clone, "dist", "index.d.ts")); err != nil {
		t.Fatalf("npm install did not build the package (prepare): %v", err)
	}

	// Compile the README's quickstart against the installed package, with
	// the TypeScript the SDK itself pins.
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	b, err := os.ReadFile(filepath.Join(sdkDir("typescript"), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	runEnv(t, proj, env, npm, "install", "--save-dev",
		"typescript@"+pkg.DevDependencies["typescript"], "@types/node@"+pkg.DevDependencies["@types/node"])
	tsconfig := `{"compilerOptions": {"target": "ES2022", "lib": ["ES2022", "ESNext.Disposable"], "module": "NodeNext",
  "moduleResolution": "NodeNext", "types": ["node"], "strict": true, "skipLibCheck": true}, "files": ["quickstart.ts"]}` + "\n"
	if err := os.WriteFile(filepath.Join(proj, "tsconfig.json"), []byte(tsconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "quickstart.ts"), []byte(readmeBlock(t, "typescript", "ts")), 0o644); err != nil {
		t.Fatal(err)
	}
	runEnv(t, proj, env, filepath.Join(proj, "node_modules", ".bin", "tsc"), "-p", "tsconfig.json")
	runQuickstart(t, proj, env, "node", "quickstart.js")
}

// TestGoInstall: a fresh Go module outside the repository that requires
// github.com/codepod-dev/codepod/sdk/go with the README's require and
// replace lines (pointing at this tree), resolved with GOFLAGS=-mod=mod
// and the configured GOPROXY, builds and runs the README's quickstart.
func TestGoInstall(t *testing.T) {
	t.Parallel()
	goBin := testenv.Command(t, "go")
	sdktest.Shared(t)
	if line := strings.Join(installLine(t, "go"), " "); line != "go get github.com/codepod-dev/codepod/sdk/go" {
		t.Fatalf("sdk/go/README.md's install line is %q, want go get github.com/codepod-dev/codepod/sdk/go", line)
	}
	readme, err := os.ReadFile(filepath.Join(sdkDir("go"), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```\n(require github.com/codepod-dev/codepod/sdk/go .*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("sdk/go/README.md has no ``` block with the require and replace lines for a clone")
	}
	root := testenv.RepoRoot()
	lines := strings.ReplaceAll(string(m[1]), "=> ../codepod", "=> "+root)
	proj := t.TempDir()
	gomod := "module example.com/quickstart\n\ngo 1.26.4\n\n" + lines
	if err := os.WriteFile(filepath.Join(proj, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "main.go"), []byte(readmeBlock(t, "go", "go")), 0o644); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("GOFLAGS=-mod=mod", "GOWORK=off")
	runEnv(t, proj, env, goBin, "mod", "tidy")
	runEnv(t, proj, env, goBin, "build", "-o", "quickstart", ".")
	b, _ := os.ReadFile(filepath.Join(proj, "go.mod"))
	if !strings.Contains(string(b), "github.com/codepod-dev/codepod/sdk/go v0.0.0") {
		t.Fatalf("go mod tidy dropped the SDK from go.mod:\n%s", b)
	}
	runQuickstart(t, proj, env, filepath.Join(proj, "quickstart"))
}
