package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateFromDevcontainer: `sandbox create --devcontainer` takes the
// image and environment of a devcontainer.json (comments allowed), flags win
// over it, and a build whose Dockerfile is missing is refused with a clear
// message.
func TestCreateFromDevcontainer(t *testing.T) {
	c := newCluster(t)
	c.startRunner("dc", t.TempDir())
	dir := t.TempDir()
	dc := filepath.Join(dir, "devcontainer.json")
	os.WriteFile(dc, []byte(`{
  // a comment, as VS Code writes them
  "image": "codepod/tiny:latest",
  "containerEnv": {"GREETING": "from devcontainer", "MODE": "file"},
  /* block comment */
  "remoteEnv": {"EDITOR": "vi"}
}`), 0o644)
	id := c.must("sandbox", "create", "dev", "--devcontainer", dc, "--env", "MODE=flag", "--wait")
	out := c.must("sandbox", "exec", id, "--", "sh", "-c", `echo "$GREETING|$MODE|$EDITOR"`)
	if out != "from devcontainer|flag|vi" {
		t.Fatalf("environment from devcontainer.json: %q", out)
	}
	c.must("sandbox", "delete", id)

	build := filepath.Join(dir, "build.json")
	os.WriteFile(build, []byte(`{"build": {"dockerfile": "Dockerfile"}}`), 0o644)
	if _, errOut, code := c.cli("sandbox", "create", "--devcontainer", build); code == 0 || !strings.Contains(errOut, `build.dockerfile "Dockerfile": no such file`) {
		t.Fatalf("build-only devcontainer: exit %d, %q", code, errOut)
	}
}

// TestCreateFromDevcontainerFolder: a project folder is searched like the
// reference CLI does (--config chooses among several), JSONC keeps globs in
// strings, variables are substituted (${containerEnv:PATH} by the agent),
// unknown properties are named on stderr, and a config the policy refuses
// makes no sandbox.
func TestCreateFromDevcontainerFolder(t *testing.T) {
	c := newCluster(t)
	c.startRunner("dc", t.TempDir())
	project := filepath.Join(t.TempDir(), "shop")
	write := func(rel, body string) {
		p := filepath.Join(project, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".devcontainer/tiny/devcontainer.json", `{
  "image": "codepod/tiny:latest", // trailing comment
  "containerEnv": {"P":"/opt/*/bin","Q":"/usr/*/lib", "WS": "${localWorkspaceFolderBasename}@${containerWorkspaceFolder}",},
  "remoteEnv": {"PATH": "${containerEnv:PATH}:/x"},
  "postCreateCommand": "echo hi",
  "forwardPorts": [8080],
  "fancyNewThing": true,
}`)
	write(".devcontainer/root/devcontainer.json", `{"image": "codepod/tiny:latest", "privileged": true, "mounts": ["type=bind,source=/,target=/host"]}`)

	if _, errOut, code := c.cli("sandbox", "create", "--devcontainer", project); code == 0 ||
		!strings.Contains(errOut, "choose one with --config: .devcontainer/root/devcontainer.json, .devcontainer/tiny/devcontainer.json") {
		t.Fatalf("two configs, none chosen: exit %d, %q", code, errOut)
	}

	_, errOut, code := c.cli("sandbox", "create", "bad", "--devcontainer", project, "--config", ".devcontainer/root/devcontainer.json")
	if code == 0 || !strings.Contains(errOut, `"privileged" is refused`) || !strings.Contains(errOut, `"mounts[0]" is refused`) {
		t.Fatalf("privileged devcontainer: exit %d, %q", code, errOut)
	}
	if _, _, code := c.cli("sandbox", "get", "bad"); code == 0 {
		t.Fatal("a refused devcontainer made a sandbox")
	}

	out, errOut, code := c.cli("sandbox", "create", "dev", "--devcontainer", project, "--config", ".devcontainer/tiny/devcontainer.json", "--wait")
	if code != 0 {
		t.Fatalf("create: exit %d, %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	for _, want := range []string{"unknown properties, ignored: fancyNewThing"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	got := c.must("sandbox", "exec", id, "--", "sh", "-c", `echo "$P|$Q|$WS|${PATH##*:}"`)
	if want := "/opt/*/bin|/usr/*/lib|shop@/workspaces/shop|/x"; got != want {
		t.Fatalf("environment: %q, want %q", got, want)
	}
	c.must("sandbox", "delete", id)
}
