package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/ocitest"
)

// TestDevcontainerOCIFeature: a feature named by an OCI reference
// (localhost:PORT/features/hello:1, a registry in the test process) is
// fetched by the CLI with the feature it dependsOn, built into the image by
// the runner with its options, and a second create takes both features
// from the CLI's cache and the image from the runner's; with the registry
// gone, devcontainer-lock.json (completed by the first create) keeps the
// create working offline.
func TestDevcontainerOCIFeature(t *testing.T) {
	c := newCluster(t)
	runner := c.startRunner("dc", t.TempDir())
	var built []string
	removeBuiltImages(t, &built)
	reg := ocitest.Start(t)
	reg.PushFeature(t, "features/base:1", map[string]string{
		"devcontainer-feature.json": `{"id": "base", "version": "1.0.0", "options": {"flavour": {"type": "string", "default": "plain"}}}`,
		"install.sh":                "#!/bin/sh\nset -e\nmkdir -p /opt/base\necho \"$FLAVOUR\" > /opt/base/flavour\n",
	})
	reg.PushFeature(t, "features/hello:1", map[string]string{
		"devcontainer-feature.json": `{"id": "hello", "version": "1.2.0",
  "options": {"who": {"type": "string", "default": "world"}},
  "containerEnv": {"HELLO_HOME": "/opt/hello"},
  "dependsOn": {"` + reg.Host + `/features/base:1": {"flavour": "` + t.Name() + `"}}}`,
		"install.sh": "#!/bin/sh\nset -e\ntest -f /opt/base/flavour\nmkdir -p /opt/hello\necho \"hello $WHO after $(cat /opt/base/flavour)\" > /opt/hello/greeting\n",
	})
	hello := reg.Host + "/features/hello:1"
	nonce := make([]byte, 6) // a fresh image per run: the runner must build it
	rand.Read(nonce)
	who := hex.EncodeToString(nonce)
	project := writeTree(t, filepath.Join(t.TempDir(), "app"), map[string]string{
		".devcontainer/devcontainer.json":      `{"image": "codepod/tiny:latest", "features": {"` + hello + `": {"who": "` + who + `"}}}`,
		".devcontainer/devcontainer-lock.json": `{"features": {}}`,
	})
	home := t.TempDir() // one HOME for every create: ~/.cache/codepod/features is shared
	create := func(name string) (string, string) {
		t.Helper()
		r := c.run(cliOpts{key: c.AdminKey, home: home, env: []string{"XDG_CACHE_HOME=" + filepath.Join(home, ".cache")}}, "sandbox", "create", name, "--devcontainer", project, "--wait")
		if r.code != 0 {
			t.Fatalf("create %s: exit %d\n%s", name, r.code, r.stderr)
		}
		return strings.TrimSpace(string(r.stdout)), string(r.stderr)
	}
	t0 := time.Now()
	c.must("sandbox", "delete", c.must("sandbox", "create", "--image", "codepod/tiny:latest", "--wait"))
	plain := time.Since(t0)
	t0 = time.Now()
	id, errOut := create("oci1")
	cold := time.Since(t0)
	if !strings.Contains(errOut, "feature "+hello+": sha256:") || !strings.Contains(errOut, "fetched from "+reg.Host) {
		t.Errorf("the CLI did not say it fetched the feature:\n%s", errOut)
	}
	var img struct{ Image string }
	mustJSON(t, c.must("sandbox", "get", id, "-o", "json"), &img)
	built = append(built, img.Image)
	if got := c.must("sandbox", "exec", id, "--", "sh", "-c", `cat /opt/hello/greeting; echo "$HELLO_HOME"`); got != "hello "+who+" after "+t.Name()+"\n/opt/hello" {
		t.Fatalf("in the sandbox: %q", got)
	}
	lock, err := os.ReadFile(filepath.Join(project, ".devcontainer", "devcontainer-lock.json"))
	if err != nil || !strings.Contains(string(lock), reg.Host+"/features/hello@sha256:") || !strings.Contains(string(lock), reg.Host+"/features/base@sha256:") {
		t.Fatalf("devcontainer-lock.json after the create: %s %v", lock, err)
	}

	// Offline: the registry is gone; the lock pins what the cache holds.
	reg.Close()
	t0 = time.Now()
	id2, errOut := create("oci2")
	t.Logf("create --wait: plain tiny image %v; with two OCI features fetched and built %v (cold), from the caches with the registry gone %v", plain, cold, time.Since(t0))
	if !strings.Contains(errOut, "(cached)") {
		t.Errorf("the second create did not use the cache:\n%s", errOut)
	}
	if n := strings.Count(runner.output(), "installing features"); n != 1 {
		t.Errorf("the runner built %d times, want 1 (the same features make the same image)", n)
	}
	if got := c.must("sandbox", "exec", id2, "--", "cat", "/opt/hello/greeting"); got != "hello "+who+" after "+t.Name() {
		t.Fatalf("second sandbox: %q", got)
	}
	c.must("sandbox", "delete", id, id2)
}
