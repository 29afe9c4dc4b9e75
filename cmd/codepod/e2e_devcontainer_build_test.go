package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTree writes files (slash paths relative to root) and returns root.
func writeTree(t *testing.T, root string, files map[string]string) string {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// removeBuiltImages removes, when the test ends, the images runners built
// (label dev.codepod.build) whose tag the test's sandboxes named.
func removeBuiltImages(t *testing.T, refs *[]string) {
	t.Cleanup(func() {
		for _, ref := range *refs {
			exec.Command("docker", "rmi", "-f", ref, ref+"-base").Run()
		}
	})
}

func imageID(t *testing.T, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", ref).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

// containersOf lists the containers (any state) of sandbox id.
func containersOf(t *testing.T, id string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.codepod.sandbox="+id).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestDevcontainerBuild: a devcontainer.json with build (Dockerfile in
// .devcontainer, context the project, an argument and a target stage), a
// local feature with options and containerEnv, and a workspaceFolder:
// the runner builds the image (the context honouring .dockerignore), the
// project is in the workspace, a second create with the same project does
// not rebuild, and sync updates the workspace.
func TestDevcontainerBuild(t *testing.T) {
	c := newCluster(t)
	runner := c.startRunner("dc", t.TempDir())
	var built []string
	removeBuiltImages(t, &built)
	nonce := make([]byte, 8)
	rand.Read(nonce)
	project := writeTree(t, filepath.Join(t.TempDir(), "shop"), map[string]string{
		".devcontainer/devcontainer.json": `{
  // build from the project, with an argument and a target stage
  "build": {"dockerfile": "Dockerfile", "context": "..", "args": {"GREETING": "hello from ${localWorkspaceFolderBasename}"}, "target": "dev",},
  "features": {"./hello": {"who": "tests"}},
  "workspaceFolder": "/workspaces/proj",
}`,
		".devcontainer/Dockerfile": `FROM codepod/tiny:latest AS dev
ARG GREETING=unset
RUN echo "$GREETING" > /greeting && echo dev > /stage
COPY . /ctx
FROM codepod/tiny:latest AS prod
RUN echo prod > /stage
`,
		".devcontainer/hello/devcontainer-feature.json": `{"id": "hello", "version": "1.0.0",
  "options": {"who": {"type": "string", "default": "world"}, "loud": {"type": "boolean", "default": true}},
  "containerEnv": {"HELLO_HOME": "/opt/hello", "PATH": "/opt/hello/bin:${PATH}"}}`,
		".devcontainer/hello/install.sh": "#!/bin/sh\nset -e\nmkdir -p /opt/hello/bin\necho \"$WHO $LOUD\" > /opt/hello/options\n",
		".dockerignore":                  "secret.txt\n",
		"secret.txt":                     "not in the build context",
		"app.txt":                        "version 1",
		"nonce":                          hex.EncodeToString(nonce), // a fresh content hash per run
	})

	t0 := time.Now()
	c.must("sandbox", "delete", c.must("sandbox", "create", "--image", "codepod/tiny:latest", "--wait"))
	plain := time.Since(t0)
	t0 = time.Now()
	out, errOut, code := c.cli("sandbox", "create", "dev", "--devcontainer", project, "--wait")
	if code != 0 {
		t.Fatalf("create: exit %d\n%s", code, errOut)
	}
	cold := time.Since(t0)
	id := strings.TrimSpace(out)
	sb := c.get(id)
	var tag struct {
		Image           string `json:"image"`
		WorkspaceFolder string `json:"workspace_folder"`
	}
	mustJSON(t, c.must("sandbox", "get", id, "-o", "json"), &tag)
	built = append(built, tag.Image)
	if !strings.HasPrefix(tag.Image, "codepod-build:") || tag.WorkspaceFolder != "/workspaces/proj" {
		t.Fatalf("sandbox %s: image %q, workspace folder %q", sb.ID, tag.Image, tag.WorkspaceFolder)
	}
	got := c.must("sandbox", "exec", id, "--", "sh", "-c",
		`cat /greeting /stage /opt/hello/options; echo "$HELLO_HOME"; case "$PATH" in /opt/hello/bin:*/bin*) echo PATH extended;; *) echo "PATH=$PATH";; esac; ls -A /ctx; cat /workspaces/proj/app.txt; echo; ls /workspaces/proj/.devcontainer/hello`)
	want := "hello from shop\ndev\ntests true\n/opt/hello\nPATH extended\n.devcontainer\n.dockerignore\napp.txt\nnonce\nversion 1\ndevcontainer-feature.json\ninstall.sh"
	if got != want {
		t.Fatalf("in the built sandbox:\n%s\nwant:\n%s", got, want)
	}
	if n := strings.Count(runner.output(), "building image"); n != 1 {
		t.Fatalf("the runner built %d times, want 1:\n%s", n, runner.output())
	}
	first := imageID(t, tag.Image)

	// The same project again: uploads are skipped, nothing is rebuilt.
	t0 = time.Now()
	out, errOut, code = c.cli("sandbox", "create", "dev2", "--devcontainer", project, "--wait")
	t.Logf("create --wait: plain tiny image %v; devcontainer build+feature+workspace %v (cold), %v (cached)", plain, cold, time.Since(t0))
	if code != 0 {
		t.Fatalf("second create: exit %d\n%s", code, errOut)
	}
	id2 := strings.TrimSpace(out)
	if !strings.Contains(errOut, "build context: already on the server") {
		t.Errorf("second create uploaded the build context again:\n%s", errOut)
	}
	if n := strings.Count(runner.output(), "building image"); n != 1 || imageID(t, tag.Image) != first {
		t.Fatalf("the second create rebuilt (%d builds logged)", n)
	}
	if got := c.must("sandbox", "exec", id2, "--", "cat", "/stage", "/workspaces/proj/app.txt"); got != "dev\nversion 1" {
		t.Fatalf("second sandbox: %q", got)
	}

	// sync copies the changed project in.
	os.WriteFile(filepath.Join(project, "app.txt"), []byte("version 2"), 0o644)
	c.must("sandbox", "sync", id, project)
	if got := c.must("sandbox", "exec", id, "--", "cat", "/workspaces/proj/app.txt"); got != "version 2" {
		t.Fatalf("after sync: %q", got)
	}
	c.must("sandbox", "delete", id, id2)
}

// TestDevcontainerBuildErrors: a missing Dockerfile and a feature in an unreachable registry
// are refused before anything is made, naming the problem; a failing build
// puts the sandbox in error with the failing step and its output, and
// leaves no container.
func TestDevcontainerBuildErrors(t *testing.T) {
	c := newCluster(t)
	c.startRunner("dc", t.TempDir())
	var built []string
	removeBuiltImages(t, &built)
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"nodockerfile/.devcontainer/devcontainer.json":             `{"build": {"dockerfile": "Dockerfile.dev"}}`,
		"oci/.devcontainer/devcontainer.json":                      `{"image": "codepod/tiny:latest", "features": {"localhost:1/features/go:1": "1.22"}}`,
		"privfeature/.devcontainer/devcontainer.json":              `{"image": "codepod/tiny:latest", "features": {"./root": {}}}`,
		"privfeature/.devcontainer/root/devcontainer-feature.json": `{"id": "root", "privileged": true, "capAdd": ["SYS_ADMIN"]}`,
		"privfeature/.devcontainer/root/install.sh":                "#!/bin/sh\n",
		"failing/.devcontainer/devcontainer.json":                  `{"build": {"dockerfile": "Dockerfile"}}`,
		"failing/.devcontainer/Dockerfile":                         "FROM codepod/tiny:latest\nRUN echo about to fail && echo 'no such tool' >&2 && exit 3\n",
	})
	for _, tc := range []struct{ dir, want string }{
		{"nodockerfile", `build.dockerfile "Dockerfile.dev": no such file`},
		{"oci", `feature "localhost:1/features/go:1": cannot fetch it from the registry localhost:1: `},
		{"privfeature", `"features[\"./root\"].privileged" is refused`},
	} {
		_, errOut, code := c.cli("sandbox", "create", tc.dir, "--devcontainer", filepath.Join(root, tc.dir))
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want it to say %q", tc.dir, code, errOut, tc.want)
		}
		if _, _, code := c.cli("sandbox", "get", tc.dir); code == 0 {
			t.Errorf("%s: a refused config made a sandbox", tc.dir)
		}
	}

	_, errOut, code := c.cli("sandbox", "create", "failing", "--devcontainer", filepath.Join(root, "failing"), "--wait", "--keep-on-failure")
	if code == 0 {
		t.Fatal("a failing build: create --wait succeeded")
	}
	sb := c.get("failing")
	var img struct{ Image string }
	mustJSON(t, c.must("sandbox", "get", "failing", "-o", "json"), &img)
	built = append(built, img.Image)
	if sb.Status != "error" || !strings.Contains(sb.Reason, "the image build failed at") || !strings.Contains(sb.Reason, "exit 3") ||
		!strings.Contains(sb.Reason, "no such tool") {
		t.Fatalf("failing build: status %s, reason %q\n%s", sb.Status, sb.Reason, errOut)
	}
	if ids := containersOf(t, sb.ID); ids != "" {
		t.Fatalf("a failed build left containers: %s", ids)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
