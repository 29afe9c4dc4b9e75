package devcontainer_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
	"github.com/codepod-dev/codepod/devcontainer/oci"
	"github.com/codepod-dev/codepod/internal/ocitest"
)

// planOCI plans root's config with fetcher f.
func planOCI(t *testing.T, root string, f *oci.FeatureFetcher) (*devcontainer.BuildPlan, error) {
	t.Helper()
	file := filepath.Join(root, ".devcontainer", "devcontainer.json")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := devcontainer.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := devcontainer.PlanBuildContext(context.Background(), file, c, devcontainer.Policy{}, f)
	if plan != nil {
		t.Cleanup(plan.Context.Remove)
	}
	return plan, err
}

// TestOCIFeatures: a feature in an OCI registry (one on loopback, in the
// test process, pushed to as `devcontainer features publish` does) is
// fetched and packed like a local one, with its options over its
// defaults; the feature it dependsOn is fetched too, with the options
// dependsOn gives, and installed first; overrideFeatureInstallOrder names
// one by its repository; a second plan takes both from the
// cache by digest (no blob is fetched again); an existing
// devcontainer-lock.json is completed, then pins them so that, with the
// registry gone, the plan still works from the cache; without the lock
// the unreachable registry is an error naming the feature and the
// registry; a lock whose integrity does not match is refused.
func TestOCIFeatures(t *testing.T) {
	reg := ocitest.Start(t)
	_, baseLayer := reg.PushFeature(t, "features/base:1", map[string]string{
		"devcontainer-feature.json": `{"id": "base", "version": "1.0.2", "options": {"flavour": {"type": "string", "default": "plain"}}}`,
		"install.sh":                "#!/bin/sh\necho base $FLAVOUR\n",
	})
	helloManifest, _ := reg.PushFeature(t, "features/hello:1", map[string]string{
		"devcontainer-feature.json": `{"id": "hello", "version": "1.4.0",
  "options": {"who": {"type": "string", "default": "world"}, "loud": {"type": "boolean", "default": true}},
  "containerEnv": {"HELLO_HOME": "/opt/hello"},
  "dependsOn": {"` + reg.Host + `/features/base:1": {"flavour": "strong"}}}`,
		"install.sh":     "#!/bin/sh\necho hello $WHO\n",
		"bin/hello.sh":   "#!/bin/sh\necho hi\n",
		"docs/README.md": "about hello",
	})
	hello := reg.Host + "/features/hello:1"
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".devcontainer/devcontainer.json": `{"image": "codepod/tiny:latest", "features": {"` + hello + `": {"who": "oci"}}}`,
	})
	var log []string
	f := &oci.FeatureFetcher{CacheDir: t.TempDir(), Log: func(format string, args ...any) {
		log = append(log, fmt.Sprintf(format, args...))
	}}
	pushed := reg.Requests("GET", "/blobs/")

	plan, err := planOCI(t, root, f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, pf := range plan.Features {
		ids = append(ids, pf.ID)
	}
	if want := []string{reg.Host + "/features/base:1", hello}; !slices.Equal(ids, want) {
		t.Fatalf("features %v, want %v (base first: hello dependsOn it)", ids, want)
	}
	if b, h := plan.Features[0], plan.Features[1]; b.Env["FLAVOUR"] != "strong" || h.Env["WHO"] != "oci" || h.Env["LOUD"] != "true" || h.ContainerEnv["HELLO_HOME"] != "/opt/hello" {
		t.Fatalf("base env %v; hello env %v, containerEnv %v", b.Env, h.Env, h.ContainerEnv)
	}
	names := tarNames(t, plan.Context)
	for _, want := range []string{".codepod-features/0/install.sh", ".codepod-features/1/install.sh", ".codepod-features/1/bin/hello.sh", ".codepod-features/1/docs/README.md"} {
		if !slices.Contains(names, want) {
			t.Errorf("the build context lacks %s: %v", want, names)
		}
	}
	if mode := tarMode(t, plan.Context, ".codepod-features/1/bin/hello.sh"); mode&0o111 == 0 {
		t.Errorf("bin/hello.sh lost its executable bit: %o", mode)
	}
	blobs := reg.Requests("GET", "/blobs/")
	if blobs-pushed != 2 {
		t.Errorf("%d blob requests for two features, want 2", blobs-pushed)
	}

	// Again: from the cache, by digest.
	again, err := planOCI(t, root, f)
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.Requests("GET", "/blobs/"); n != blobs || !strings.Contains(strings.Join(log, "\n"), hello+": "+helloManifest.String()+" (cached)") {
		t.Logf("fetcher's log:\n%s", strings.Join(log, "\n"))
		t.Errorf("the second plan fetched %d blobs again; the cache should have them", n-blobs)
	}
	if again.Context.Digest != plan.Context.Digest {
		t.Errorf("the same features made two build contexts")
	}

	// overrideFeatureInstallOrder names a registry feature without its tag.
	reg.PushFeature(t, "features/zeta:2", map[string]string{"devcontainer-feature.json": `{"id": "zeta"}`, "install.sh": "#!/bin/sh\n"})
	root3 := t.TempDir()
	writeFiles(t, root3, map[string]string{".devcontainer/devcontainer.json": `{"image": "codepod/tiny:latest",
  "features": {"` + hello + `": {}, "` + reg.Host + `/features/zeta:2": {}},
  "overrideFeatureInstallOrder": ["` + reg.Host + `/features/base"]}`})
	ordered, err := planOCI(t, root3, f)
	if err != nil {
		t.Fatal(err)
	}
	ids = nil
	for _, pf := range ordered.Features {
		ids = append(ids, pf.ID)
	}
	if want := []string{reg.Host + "/features/base:1", hello, reg.Host + "/features/zeta:2"}; !slices.Equal(ids, want) {
		t.Errorf("with overrideFeatureInstallOrder: %v, want %v", ids, want)
	}

	// An existing (empty) lockfile is completed as the reference CLI does.
	lockPath := filepath.Join(root, ".devcontainer", "devcontainer-lock.json")
	os.WriteFile(lockPath, []byte(`{"features": {}}`), 0o644)
	if _, err := planOCI(t, root, f); err != nil {
		t.Fatal(err)
	}
	lock, err := devcontainer.ReadLockfile(filepath.Join(root, ".devcontainer", "devcontainer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := lock.Features[hello]; got.Resolved != reg.Host+"/features/hello@"+helloManifest.String() || got.Version != "1.4.0" ||
		!slices.Equal(got.DependsOn, []string{reg.Host + "/features/base:1"}) {
		t.Errorf("lock entry for hello: %+v", got)
	}
	if got := lock.Features[reg.Host+"/features/base:1"]; got.Integrity != baseLayer.String() {
		t.Errorf("lock entry for base: %+v, want integrity %s", got, baseLayer)
	}

	// Offline: the lock pins digests the cache has.
	reg.Close()
	if _, err := planOCI(t, root, f); err != nil {
		t.Fatalf("with the registry gone, a locked and cached feature: %v", err)
	}
	os.Remove(lockPath)
	_, err = planOCI(t, root, f)
	if want := `feature "` + hello + `": cannot fetch it from the registry ` + reg.Host + `: `; err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "devcontainer-lock.json") {
		t.Fatalf("unreachable registry: %v\nwant it to say %s and how to work offline", err, want)
	}

	// A lock whose integrity is not the artifact's.
	reg2 := ocitest.Start(t)
	reg2.PushFeature(t, "features/hello:1", map[string]string{"devcontainer-feature.json": `{"id": "hello"}`, "install.sh": "#!/bin/sh\n"})
	root2 := t.TempDir()
	m2, _ := reg2.PushFeature(t, "features/hello:1", map[string]string{"devcontainer-feature.json": `{"id": "hello"}`, "install.sh": "#!/bin/sh\n"})
	ref2 := reg2.Host + "/features/hello:1"
	writeFiles(t, root2, map[string]string{
		".devcontainer/devcontainer.json":      `{"image": "codepod/tiny:latest", "features": {"` + ref2 + `": {}}}`,
		".devcontainer/devcontainer-lock.json": `{"features": {"` + ref2 + `": {"resolved": "` + reg2.Host + `/features/hello@` + m2.String() + `", "integrity": "sha256:` + strings.Repeat("0", 64) + `"}}}`,
	})
	if _, err := planOCI(t, root2, &oci.FeatureFetcher{CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "the artifact changed since it was locked") {
		t.Fatalf("a lock with another integrity: %v", err)
	}
}

func tarMode(t *testing.T, a *devcontainer.Archive, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the archive: %v", name, err)
		}
		if h.Name == name {
			return h.Mode
		}
	}
}
