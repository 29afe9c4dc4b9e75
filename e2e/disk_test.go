package e2e_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/runner/docker"
)

// waitSandbox polls a sandbox until it has status want, failing the test
// on the wrong end state or at the deadline.
func (c *cluster) waitSandbox(ctx context.Context, t *testing.T, id, want string) *sandbox {
	t.Helper()
	var sb sandbox
	for {
		// The last look too gets its answer, to say where the sandbox is.
		if err := c.call(context.WithoutCancel(ctx), "GET", "/api/v1/sandboxes/"+id, nil, &sb, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if sb.Status == want {
			return &sb
		}
		if ctx.Err() != nil {
			t.Fatalf("sandbox %s is %s (%q); want %s", id, sb.Status, sb.Reason, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeInBackground runs a tenant's shell command that the disk watch is
// expected to kill: its exec fails when the sandbox stops, and nobody
// waits for its answer.
func (c *cluster) writeInBackground(ctx context.Context, id, shell string) {
	go c.call(ctx, "POST", "/api/v1/sandboxes/"+id+"/exec", map[string]any{"shell": shell, "timeout_seconds": 120}, nil, http.StatusOK)
}

// limitedSandbox creates a tiny sandbox from create (with the name, image
// and memory set here), deletes it when the test ends, and waits until it
// runs.
func (c *cluster) limitedSandbox(ctx context.Context, t *testing.T, name string, create map[string]any) *sandbox {
	t.Helper()
	create["name"], create["image"], create["memory"] = name, "codepod/tiny:latest", "128m"
	var sb sandbox
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", create, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteSandbox(t, c, sb.ID) })
	c.waitSandbox(ctx, t, sb.ID, "running")
	return &sb
}

// layerSize is what the sandbox's container holds in its writable layer,
// and whether it runs.
func (c *cluster) layerSize(ctx context.Context, t *testing.T, id string) (int64, bool) {
	t.Helper()
	insp, _, err := c.Docker.Client().ContainerInspectWithRaw(ctx, docker.ContainerName(id), true)
	if err != nil {
		t.Fatal(err)
	}
	if insp.SizeRw == nil {
		t.Fatalf("the engine reports no size for the container of %s", id)
	}
	return *insp.SizeRw, insp.State.Running
}

// TestAttackFillingTheDiskStopsTheSandbox: root in a sandbox with a 64 MiB
// disk limit writes to its own file system without end (the writable
// layer, which overlay2 on ext4 cannot bound). The runner's disk watch
// kills it: the sandbox goes to error with a reason that says why, and
// what it wrote stays far below what it went on to write. Started again it
// may delete files but not grow; back under its limit the limit holds.
func TestAttackFillingTheDiskStopsTheSandbox(t *testing.T) {
	c := sharedCluster(t)
	for _, rt := range []string{"runc", "gvisor"} {
		t.Run(rt, func(t *testing.T) { testDiskFill(t, c, rt) })
	}
	t.Run("named volume", func(t *testing.T) { testVolumeFill(t, c) })
}

// testVolumeFill: a devcontainer's named volume is outside the writable
// layer, on the runner's disk all the same; it counts toward the limit.
func testVolumeFill(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sb := c.limitedSandbox(ctx, t, "disk-fill-volume", map[string]any{"disk": "64m", "devcontainer": map[string]any{
		"mounts": []map[string]any{{"type": "volume", "source": "cache", "target": "/cache"}}}})
	c.writeInBackground(ctx, sb.ID, `i=0; while [ $i -lt 256 ]; do head -c 8388608 /dev/zero > /cache/fill.$i || exit 1; i=$((i+1)); sleep 0.05; done`)
	stopped := c.waitSandbox(ctx, t, sb.ID, "error")
	if !strings.HasPrefix(stopped.Reason, "disk: ") {
		t.Fatalf("reason %q; want the disk limit named", stopped.Reason)
	}
	if layer, _ := c.layerSize(ctx, t, sb.ID); layer > 16<<20 {
		t.Fatalf("the writable layer holds %d MiB: the fill did not go to the volume, so this test proves nothing", layer>>20)
	} else {
		t.Logf("stopped with %d MiB in its layer: %s", layer>>20, stopped.Reason)
	}
}

func testDiskFill(t *testing.T, c *cluster, runtime string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sb := c.limitedSandbox(ctx, t, "disk-fill-"+runtime, map[string]any{"disk": "64m", "runtime": runtime})
	var got struct {
		Disk      string `json:"disk"`
		DiskBytes int64  `json:"disk_bytes"`
	}
	if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &got, http.StatusOK); err != nil || got.Disk != "64m" || got.DiskBytes != 64<<20 {
		t.Fatalf("the sandbox shows disk %q (%d bytes), %v; want 64m", got.Disk, got.DiskBytes, err)
	}

	// 8 MiB every 50 ms up to 2 GiB: without the watch the sandbox runs on
	// and holds 2 GiB, 32 times its limit.
	const fill = `i=0; while [ $i -lt 256 ]; do head -c 8388608 /dev/zero > /fill.$i || exit 1; i=$((i+1)); sleep 0.05; done; echo wrote-all`
	c.writeInBackground(ctx, sb.ID, fill)
	stopped := c.waitSandbox(ctx, t, sb.ID, "error")
	if !strings.HasPrefix(stopped.Reason, "disk: the sandbox wrote ") || !strings.Contains(stopped.Reason, "over its limit of 64.0 MiB") {
		t.Fatalf("reason %q; want the disk limit named", stopped.Reason)
	}
	layer, running := c.layerSize(ctx, t, sb.ID)
	if running {
		t.Fatal("the container of a sandbox stopped for its disk still runs")
	}
	t.Logf("stopped holding %d MiB of its 64 MiB: %s", layer>>20, stopped.Reason)
	if layer > 1<<30 {
		t.Fatalf("the sandbox wrote %d MiB before it was stopped; the watch did not stop it in time", layer>>20)
	}

	// Started again it runs, over its limit, and may not grow.
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/start", nil, nil, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	c.waitSandbox(ctx, t, sb.ID, "running")
	c.writeInBackground(ctx, sb.ID, `head -c 16777216 /dev/zero > /more; sleep 60`)
	if again := c.waitSandbox(ctx, t, sb.ID, "error"); !strings.HasPrefix(again.Reason, "disk: ") {
		t.Fatalf("reason %q after growing past what it held at its start; want the disk limit", again.Reason)
	}

	// Started again, it deletes what it wrote: back under its limit the
	// allowance goes (a check ran), and the sandbox runs on.
	if err := c.call(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/start", nil, nil, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	c.waitSandbox(ctx, t, sb.ID, "running")
	allowance := filepath.Join(c.Runner.SandboxDir(sb.ID), "disk-allowance")
	if _, err := os.Stat(allowance); err != nil {
		t.Fatalf("no disk allowance after a start over the limit: %v", err)
	}
	if res := c.exec(ctx, t, sb.ID, map[string]any{"shell": "rm -f /fill.* /more && echo cleaned"}); res.Stdout != "cleaned\n" {
		t.Fatalf("cleaning up: %+v", res)
	}
	for {
		if _, err := os.Stat(allowance); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the disk allowance stayed after the sandbox was back under its limit")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res := c.exec(ctx, t, sb.ID, map[string]any{"shell": "head -c 1048576 /dev/zero > /small && echo ok"}); res.Stdout != "ok\n" {
		t.Fatalf("a write within the limit: %+v", res)
	}

	// The limit holds again.
	c.writeInBackground(ctx, sb.ID, fill)
	if again := c.waitSandbox(ctx, t, sb.ID, "error"); !strings.HasPrefix(again.Reason, "disk: ") {
		t.Fatalf("reason %q after filling the disk a second time; want the disk limit", again.Reason)
	}
}
