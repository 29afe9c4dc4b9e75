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

	"github.com/codepod-dev/codepod/internal/ocitest"
	codepod "github.com/codepod-dev/codepod/sdk/go"
)

// TestCreateFromDevcontainerOCIFeature: the SDK fetches an OCI feature
// (from a registry in the test process, on loopback) and the sandbox has
// it installed with its options; an unreachable registry is an error
// naming the feature and the registry, and makes nothing.
func TestCreateFromDevcontainerOCIFeature(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the fetched features' cache
	c := newClient(t)
	ctx := t.Context()
	reg := ocitest.Start(t)
	reg.PushFeature(t, "features/greet:1", map[string]string{
		"devcontainer-feature.json": `{"id": "greet", "options": {"word": {"type": "string", "default": "hi"}}}`,
		"install.sh":                "#!/bin/sh\nset -e\necho \"$WORD\" > /greeting\n",
	})
	nonce := make([]byte, 6)
	rand.Read(nonce)
	word := "sdk-" + hex.EncodeToString(nonce) // a fresh image per run
	project := filepath.Join(t.TempDir(), "oci")
	write := func(config string) {
		os.MkdirAll(filepath.Join(project, ".devcontainer"), 0o755)
		if err := os.WriteFile(filepath.Join(project, ".devcontainer", "devcontainer.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"image": "` + tinyImage + `", "features": {"` + reg.Host + `/features/greet:1": {"word": "` + word + `"}}}`)
	opts := &codepod.DevcontainerOptions{CreateOptions: codepod.CreateOptions{Memory: "64m", WaitTimeout: 5 * time.Minute}}
	sb, err := c.CreateFromDevcontainer(ctx, project, opts)
	if err != nil {
		t.Fatalf("CreateFromDevcontainer: %v", err)
	}
	defer sb.Close()
	image := sb.Info().Image
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	res, err := sb.Exec(ctx, codepod.Shell(`cat /greeting`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != word+"\n" {
		t.Fatalf("in the sandbox: %q, want %q (stderr %q)", res.Stdout, word, res.Stderr)
	}

	reg.Close()
	write(`{"image": "` + tinyImage + `", "features": {"` + reg.Host + `/features/other:1": {}}}`)
	opts.Name = "never-made"
	_, err = c.CreateFromDevcontainer(ctx, project, opts)
	if want := `feature "` + reg.Host + `/features/other:1": cannot fetch it from the registry ` + reg.Host; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("unreachable registry: %v, want it to say %s", err, want)
	}
	if _, err := c.Sandbox(ctx, "never-made"); err == nil {
		t.Fatal("an unreachable feature made a sandbox")
	}
}
