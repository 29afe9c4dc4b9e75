package devcontainer_test

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tarNames(t *testing.T, a *devcontainer.Archive) []string {
	t.Helper()
	f, err := os.Open(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func planFor(t *testing.T, root, config string) (*devcontainer.BuildPlan, error) {
	t.Helper()
	file := filepath.Join(root, ".devcontainer", "devcontainer.json")
	writeFiles(t, root, map[string]string{".devcontainer/devcontainer.json": config})
	raw, err := devcontainer.Parse([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	c, err := raw.Substitute(devcontainer.Vars{LocalWorkspaceFolder: root, LocalEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return devcontainer.PlanBuild(file, c, devcontainer.Policy{})
}

// TestPlanBuild: the build context honours .dockerignore (with its !
// exceptions; the Dockerfile is always sent), is the same tar for the same
// files (so the runner's cache hits), and carries the features' folders;
// features come in dependsOn/installsAfter order with their options as
// upper-cased variables over their defaults.
func TestPlanBuild(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".dockerignore":  "*.log\nbuild/\n!build/keep.txt\nDockerfile\n",
		"Dockerfile":     "FROM codepod/tiny:latest\n",
		"main.go":        "package main",
		"debug.log":      "x",
		"build/out.bin":  "x",
		"build/keep.txt": "x",
		".devcontainer/a/devcontainer-feature.json": `{"id": "a", "installsAfter": ["b"], "options": {"node-version": {"type": "string", "default": "lts"}, "8bit": {"type": "boolean", "default": false}}, "containerEnv": {"A_HOME": "/opt/a"}}`,
		".devcontainer/a/install.sh":                "#!/bin/sh\n",
		".devcontainer/b/devcontainer-feature.json": `{"id": "b", "dependsOn": {"./c": {}}}`,
		".devcontainer/b/install.sh":                "#!/bin/sh\n",
		".devcontainer/c/devcontainer-feature.json": `{"id": "c", // comments are fine
  }`,
		".devcontainer/c/install.sh": "#!/bin/sh\n",
	})
	config := `{"build": {"dockerfile": "../Dockerfile", "context": "..", "args": {"X": "1"}, "target": "dev"},
  "features": {"./a": {"node-version": "20"}, "./b": {}, "./c": {}}}`
	plan, err := planFor(t, root, config)
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Context.Remove()
	names := tarNames(t, plan.Context)
	for _, want := range []string{"Dockerfile", "main.go", "build/", "build/keep.txt", ".dockerignore", ".codepod-features/0/install.sh", ".codepod-features/2/devcontainer-feature.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("context lacks %s: %v", want, names)
		}
	}
	for _, not := range []string{"debug.log", "build/out.bin"} {
		if slices.Contains(names, not) {
			t.Errorf("context has %s, which .dockerignore excludes", not)
		}
	}
	if plan.Dockerfile != "Dockerfile" || plan.Target != "dev" || plan.Args["X"] != "1" {
		t.Errorf("plan %+v", plan)
	}
	var order []string
	for _, f := range plan.Features {
		order = append(order, f.ID)
	}
	if strings.Join(order, " ") != "./c ./b ./a" {
		t.Errorf("install order %v, want ./c ./b ./a (a installsAfter b, b dependsOn c)", order)
	}
	a := plan.Features[2]
	if a.Env["NODE_VERSION"] != "20" || a.Env["_BIT"] != "false" || a.ContainerEnv["A_HOME"] != "/opt/a" {
		t.Errorf("feature a: env %v, containerEnv %v", a.Env, a.ContainerEnv)
	}

	again, err := planFor(t, root, config)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Context.Remove()
	if again.Context.Digest != plan.Context.Digest {
		t.Errorf("the same files made two contexts: %s, %s", plan.Context.Digest, again.Context.Digest)
	}
}

// TestPlanBuildRefusals: an unreachable registry feature, a short name, a feature the policy refuses,
// an unknown option, a missing Dependency and a missing Dockerfile are
// errors that name the feature, property or file.
func TestPlanBuildRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		files        map[string]string
		want         string
	}{
		{"oci", `{"image": "codepod/tiny:latest", "features": {"localhost:1/features/go:1": "1.22"}}`, nil,
			`feature "localhost:1/features/go:1" is in an OCI registry and this caller fetches none`},
		{"shortname", `{"image": "codepod/tiny:latest", "features": {"go": "1.22"}}`, nil,
			`feature "go": neither a local folder ("./go") nor a registry reference`},
		{"privileged", `{"image": "x", "features": {"./p": {}}}`,
			map[string]string{".devcontainer/p/devcontainer-feature.json": `{"id": "p", "privileged": true, "mounts": [{"type": "bind", "source": "/", "target": "/host"}], "init": true}`, ".devcontainer/p/install.sh": ""},
			`"features[\"./p\"].privileged" is refused`},
		{"volume", `{"image": "x", "features": {"./v": {}}}`,
			map[string]string{".devcontainer/v/devcontainer-feature.json": `{"id": "v", "mounts": [{"type": "volume", "source": "cache", "target": "/cache"}]}`, ".devcontainer/v/install.sh": ""},
			`"features[\"./v\"].mounts[0]" is refused: a feature's volume mounts are not applied yet`},
		{"option", `{"image": "x", "features": {"./o": {"colour": "red"}}}`,
			map[string]string{".devcontainer/o/devcontainer-feature.json": `{"id": "o", "options": {"color": {"type": "string"}}}`, ".devcontainer/o/install.sh": ""},
			`feature "./o" has no option "colour" (it has: color)`},
		{"depends", `{"image": "x", "features": {"./d": {}}}`,
			map[string]string{".devcontainer/d/devcontainer-feature.json": `{"id": "d", "dependsOn": {"./e": {}}}`, ".devcontainer/d/install.sh": ""},
			`feature "./d" dependsOn "./e", which the config does not list`},
		{"noinstall", `{"image": "x", "features": {"./n": {}}}`,
			map[string]string{".devcontainer/n/devcontainer-feature.json": `{"id": "n"}`},
			`a feature needs an install.sh`},
		{"dockerfile", `{"build": {"dockerfile": "Dockerfile.dev"}}`, nil, `build.dockerfile "Dockerfile.dev": no such file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			_, err := planFor(t, root, tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %s", err, tc.want)
			}
		})
	}
}

// TestPackWorkspace: the workspace keeps .git and everything else; with
// skipGitignored the top-level .gitignore's patterns are left out
// (at any depth for a pattern without a slash, ! exceptions kept).
func TestPackWorkspace(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".gitignore":          "node_modules/\n/dist\n*.o\n!keep.o\n",
		".git/HEAD":           "ref: refs/heads/main\n",
		"src/main.c":          "int main;",
		"src/main.o":          "x",
		"src/keep.o":          "x",
		"web/node_modules/x":  "x",
		"dist/app":            "x",
		"lib/dist/notignored": "x",
	})
	all, err := devcontainer.PackWorkspace(root, false)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Remove()
	if names := tarNames(t, all); !slices.Contains(names, ".git/HEAD") || !slices.Contains(names, "dist/app") || !slices.Contains(names, "src/main.o") {
		t.Errorf("full workspace: %v", names)
	}
	some, err := devcontainer.PackWorkspace(root, true)
	if err != nil {
		t.Fatal(err)
	}
	defer some.Remove()
	names := tarNames(t, some)
	for _, want := range []string{".git/HEAD", "src/main.c", "src/keep.o", "lib/dist/notignored", ".gitignore"} {
		if !slices.Contains(names, want) {
			t.Errorf("--skip-gitignored left out %s: %v", want, names)
		}
	}
	for _, not := range []string{"src/main.o", "web/node_modules/x", "dist/app"} {
		if slices.Contains(names, not) {
			t.Errorf("--skip-gitignored kept %s", not)
		}
	}
}

func TestOptionEnvName(t *testing.T) {
	for in, want := range map[string]string{"version": "VERSION", "node-version": "NODE_VERSION", "8bit": "_BIT", "a.b": "A_B", "__x": "_X"} {
		if got := devcontainer.OptionEnvName(in); got != want {
			t.Errorf("OptionEnvName(%q) = %q, want %q", in, got, want)
		}
	}
}
