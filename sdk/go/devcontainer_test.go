package codepod_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
)

// TestCreateFromDevcontainer: the SDK creates a sandbox from a project's
// devcontainer.json with a build (an argument, a target stage), the
// project copied into workspaceFolder; a second create of the same project
// reuses the image, and a refused config makes nothing.
func TestCreateFromDevcontainer(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	nonce := make([]byte, 8)
	rand.Read(nonce)
	project := filepath.Join(t.TempDir(), "webapp")
	for rel, body := range map[string]string{
		".devcontainer/devcontainer.json": `{
  // JSONC, as VS Code writes it
  "build": {"dockerfile": "Dockerfile", "args": {"FLAVOUR": "sdk-${localWorkspaceFolderBasename}"}, "target": "dev"},
  "containerEnv": {"GLOB": "/opt/*/bin"},
}`,
		".devcontainer/Dockerfile": "FROM " + tinyImage + " AS dev\nARG FLAVOUR\nRUN echo \"$FLAVOUR\" > /flavour\nFROM dev AS prod\nRUN echo prod > /flavour\n",
		"README.md":                "# webapp " + hex.EncodeToString(nonce),
	} {
		p := filepath.Join(project, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := &codepod.DevcontainerOptions{CreateOptions: codepod.CreateOptions{Memory: "64m", WaitTimeout: 5 * time.Minute}}
	sb, err := c.CreateFromDevcontainer(ctx, project, opts)
	if err != nil {
		t.Fatalf("CreateFromDevcontainer: %v", err)
	}
	defer sb.Close()
	image := sb.Info().Image
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	res, err := sb.Exec(ctx, codepod.Shell(`cat /flavour; echo "$GLOB"; head -c 9 /workspaces/webapp/README.md`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sdk-webapp\n/opt/*/bin\n# webapp "; res.Stdout != want {
		t.Fatalf("in the sandbox: %q, want %q (stderr %q)", res.Stdout, want, res.Stderr)
	}
	if ws := sb.Info().WorkspaceFolder; ws == nil || *ws != "/workspaces/webapp" {
		t.Errorf("workspace folder %v", ws)
	}
	before := imageCreated(t, image)

	again, err := c.CreateFromDevcontainer(ctx, filepath.Join(project, ".devcontainer", "devcontainer.json"), opts)
	if err != nil {
		t.Fatalf("second CreateFromDevcontainer: %v", err)
	}
	defer again.Close()
	if again.Info().Image != image || imageCreated(t, image) != before {
		t.Fatalf("the second create rebuilt: image %s (first %s)", again.Info().Image, image)
	}

	os.WriteFile(filepath.Join(project, ".devcontainer", "devcontainer.json"), []byte(`{"image": "`+tinyImage+`", "privileged": true}`), 0o644)
	if _, err := c.CreateFromDevcontainer(ctx, project, opts); err == nil || !strings.Contains(err.Error(), `"privileged" is refused`) {
		t.Fatalf("privileged config: %v", err)
	}
}

func imageCreated(t *testing.T, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}} {{.Created}}", ref).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}
