package runner_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/images"
	"github.com/codepod-dev/codepod/wire"
)

// A create for an image being built beside the runner (codepod up building
// codepod/base) waits for the build, reporting its progress, and then
// creates the sandbox from the image the build made: no pull is tried.
func TestCreateWaitsForAnImageBeingBuilt(t *testing.T) {
	b := dockerBackend(t)
	builds := &images.Builds{}
	r := handleRunner(t, b, func(c *runner.Config) { c.ImageBuilds = builds })
	// A tag no registry has, on a loopback registry that does not listen:
	// a pull would fail at once.
	tag := "127.0.0.1:9/codepod-test/building:" + strings.ToLower(randID("t"))
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	report, end := builds.Begin(tag)

	p := payload(randID("sb_"))
	p.Image = tag
	msgs := make(chan string, 100)
	done := make(chan wire.JobResult, 1)
	go func() {
		done <- r.Handle(t.Context(), job(wire.KindCreate, p), func(m string) { msgs <- m })
	}()
	first := <-msgs
	if want := "building " + tag + " on this runner"; !strings.HasPrefix(first, want) {
		t.Fatalf("first progress %q, want it to start %q", first, want)
	}
	report("debootstrap step 3/6: downloading packages")
	if m := <-msgs; !strings.HasSuffix(m, ": debootstrap step 3/6: downloading packages") {
		t.Fatalf("progress %q does not carry the build's step", m)
	}
	if n := countContainers(t, b, p.ID); n != 0 {
		t.Fatalf("%d containers while the image is being built", n)
	}
	// The build finishes: the image is there.
	if err := images.BuildWith(context.Background(), b, images.Tiny, images.Options{Ref: tag}, nil); err != nil {
		t.Fatal(err)
	}
	end(nil)
	res := <-done
	if !res.OK || res.ContainerID == "" {
		t.Fatalf("create after the build: %+v", res)
	}
	if c := inspect(t, b, p.ID); !c.State.Running || c.Config.Image != tag {
		t.Fatalf("container of image %q, running %v; want %q running", c.Config.Image, c.State.Running, tag)
	}
}

// When the build fails, the create fails with the build's error, not a
// pull's.
func TestCreateForAnImageWhoseBuildFailsSaysSo(t *testing.T) {
	b := dockerBackend(t)
	builds := &images.Builds{}
	r := handleRunner(t, b, func(c *runner.Config) { c.ImageBuilds = builds })
	tag := "127.0.0.1:9/codepod-test/building:" + strings.ToLower(randID("t"))
	_, end := builds.Begin(tag)
	p := payload(randID("sb_"))
	p.Image = tag
	started := make(chan struct{})
	done := make(chan wire.JobResult, 1)
	go func() {
		var once bool
		done <- r.Handle(t.Context(), job(wire.KindCreate, p), func(string) {
			if !once {
				once = true
				close(started)
			}
		})
	}()
	<-started
	end(errors.New("debootstrap bookworm: exit status 1"))
	res := <-done
	if res.OK || !strings.Contains(res.Error, "its build failed: debootstrap bookworm: exit status 1") {
		t.Fatalf("create after a failed build: %+v", res)
	}
	if n := countContainers(t, b, p.ID); n != 0 {
		t.Fatalf("%d containers left after a failed build", n)
	}
}
