package images_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/images"
)

var _ images.Engine = (*docker.Backend)(nil)

func engine(t *testing.T) *docker.Backend {
	t.Helper()
	testenv.Docker(t)
	b, err := docker.New(docker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// throwaway is a tag of the test's own, removed when it ends.
func throwaway(t *testing.T, b *docker.Backend, name string) string {
	ref := "codepod-test/" + name + ":" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	t.Cleanup(func() {
		if id, _ := b.ImageID(context.Background(), ref); id != "" {
			exec.Command("docker", "rmi", "-f", ref).Run()
		}
	})
	return ref
}

func run(t *testing.T, ref string, argv ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"run", "--rm", "--network", "none", ref}, argv...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s %v: %v: %s", ref, argv, err, out)
	}
	return string(out)
}

func TestTinyImage(t *testing.T) {
	b := engine(t)
	ref := throwaway(t, b, "tiny")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := images.BuildWith(ctx, b, images.Tiny, images.Options{Ref: ref}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("tiny image built in %s", time.Since(start).Round(time.Millisecond))

	out := run(t, ref, "sh", "-c", `id -u; grep ^root: /etc/passwd; stat -c %a /tmp; echo "$PATH"; wc -l < /proc/self/status >/dev/null && echo ok`)
	want := []string{"0", "root:x:0:0:root:/root:/bin/sh", "1777", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ok"}
	if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("inside the tiny image: %q, want %q", got, want)
	}
	img, err := b.Client().ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(img.Config.Cmd, " ") != "/bin/sh" {
		t.Errorf("Cmd %q, want /bin/sh", img.Config.Cmd)
	}
}

func TestTinyNeedsAStaticBusybox(t *testing.T) {
	b := engine(t)
	err := images.BuildWith(context.Background(), b, images.Tiny, images.Options{Ref: throwaway(t, b, "tiny"), Busybox: "/bin/ls"}, nil)
	if err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Fatalf("build with a dynamic busybox: %v", err)
	}
}

func TestEnsureBuildsOnlyWhenMissing(t *testing.T) {
	b := engine(t)
	ctx := context.Background()
	if _, err := images.Ensure(ctx, b, images.Tiny, nil); err != nil {
		t.Fatal(err)
	}
	id, _ := b.ImageID(ctx, "codepod/tiny:latest")
	built, err := images.Ensure(ctx, b, images.Tiny, nil)
	if err != nil || built {
		t.Fatalf("Ensure of a present image: built %v, %v", built, err)
	}
	if again, _ := b.ImageID(ctx, "codepod/tiny:latest"); again != id {
		t.Fatalf("Ensure replaced a present image: %s → %s", id, again)
	}
	if _, err := images.Ensure(ctx, b, "huge", nil); err == nil {
		t.Fatal("Ensure of an unknown image succeeded")
	}
}

// TestBaseImage runs debootstrap (about a minute, and it needs a Debian
// mirror): set CODEPOD_TEST_BASE_IMAGE=1 to run it.
func TestBaseImage(t *testing.T) {
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		t.Skip("set CODEPOD_TEST_BASE_IMAGE=1 to build the base image with debootstrap (about a minute)")
	}
	testenv.Command(t, "debootstrap")
	b := engine(t)
	ref := throwaway(t, b, "base")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	if err := images.BuildWith(ctx, b, images.Base, images.Options{Ref: ref}, nil); err != nil {
		t.Fatal(err)
	}
	img, err := b.Client().ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base image built in %s, %d MB", time.Since(start).Round(time.Second), img.Size>>20)
	// The downloads stay in the package cache for the next build.
	if debs, _ := filepath.Glob(filepath.Join(images.DefaultCacheDir(), "bash_*.deb")); len(debs) == 0 {
		t.Errorf("no bash package in the debootstrap cache %s after a build", images.DefaultCacheDir())
	}
	out := run(t, ref, "bash", "-c", `python3 -c 'import json, subprocess, sqlite3; print("py", json.dumps([1]))'; node -e 'console.log("node", 6 * 7)'; git --version; curl --version | head -1; test -s /etc/ssl/certs/ca-certificates.crt && echo certs`)
	for _, want := range []string{"py [1]", "node 42", "git version", "curl ", "certs"} {
		if !strings.Contains(out, want) {
			t.Errorf("base image lacks %q: %s", want, out)
		}
	}
}
