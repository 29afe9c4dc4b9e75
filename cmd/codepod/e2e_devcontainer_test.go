package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateFromDevcontainer: `sandbox create --devcontainer` takes the
// image and environment of a devcontainer.json (comments allowed), flags win
// over it, and a build-only devcontainer is refused with a clear message.
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
	if _, errOut, code := c.cli("sandbox", "create", "--devcontainer", build); code == 0 || !strings.Contains(errOut, `only "image" is supported`) {
		t.Fatalf("build-only devcontainer: exit %d, %q", code, errOut)
	}
}
