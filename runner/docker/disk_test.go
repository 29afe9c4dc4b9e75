package docker_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
)

// usageOf finds sandboxID in a DiskUsage answer.
func usageOf(list []runner.DiskUsage, sandboxID string) (runner.DiskUsage, bool) {
	for _, u := range list {
		if u.SandboxID == sandboxID {
			return u, true
		}
	}
	return runner.DiskUsage{}, false
}

// DiskUsage reports what each running sandbox wrote to its writable layer
// and its named volumes beside its limit (the label the create set; the
// default for none), and leaves stopped ones out; DiskUsed measures a
// stopped one.
func TestDiskUsageMeasuresTheWritableLayer(t *testing.T) {
	b := backend(t, docker.Config{})
	ctx := context.Background()
	runnerID := "rn_disk" + randHex()
	limited, plain := spec(t, "sb_d1"+randHex()), spec(t, "sb_d2"+randHex())
	limited.RunnerID, plain.RunnerID = runnerID, runnerID
	limited.DiskBytes = 32 << 20
	plain.Volumes = []runner.Volume{{Name: "cache", Target: "/cache"}}
	for _, s := range []runner.ContainerSpec{limited, plain} {
		if _, err := b.CreateSandbox(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.RemoveSandbox(context.Background(), s.SandboxID) })
	}
	if out, err := asRoot(t, limited, "head -c 10485760 /dev/zero > /ten-mib && sync"); err != nil {
		t.Fatalf("write: %v: %s", err, out)
	}
	if out, err := asRoot(t, plain, "head -c 5242880 /dev/zero > /cache/five-mib && sync"); err != nil {
		t.Fatalf("write to the volume: %v: %s", err, out)
	}
	list, err := b.DiskUsage(ctx, runnerID)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := usageOf(list, limited.SandboxID)
	if !ok || u.Used < 10<<20 || u.Used > 12<<20 || u.Limit != 32<<20 || u.ContainerID == "" {
		t.Fatalf("usage of the sandbox that wrote 10 MiB: %+v (found %v); want 10-12 MiB of 32 MiB", u, ok)
	}
	if p, ok := usageOf(list, plain.SandboxID); !ok || p.Used < 5<<20 || p.Used > 6<<20 || p.Limit != codepod.DefaultLimits.DefaultDisk {
		t.Fatalf("usage of the sandbox that wrote 5 MiB to its volume: %+v (found %v); want 5-6 MiB of the default limit", p, ok)
	}

	if err := b.StopSandbox(ctx, limited.SandboxID, 0); err != nil {
		t.Fatal(err)
	}
	if list, _ = b.DiskUsage(ctx, runnerID); len(list) != 1 || list[0].SandboxID != plain.SandboxID {
		t.Fatalf("usage after one stopped: %+v; want only the running one", list)
	}
	used, err := b.DiskUsed(ctx, limited.SandboxID)
	if err != nil || used != u.Used {
		t.Fatalf("DiskUsed of the stopped sandbox = %d, %v; want the %d it held", used, err, u.Used)
	}
	if _, err := b.DiskUsed(ctx, "sb_missing"+randHex()); codepod.ErrorCode(err) != codepod.ENOTFOUND {
		t.Fatalf("DiskUsed of no container: %v; want ENOTFOUND", err)
	}
}

// BenchmarkDiskUsage is one disk check of the runner's watch over 10
// sandboxes, each holding 2,000 small files, beside the inventory's
// container list (no sizes) as its baseline.
func BenchmarkDiskUsage(b *testing.B) {
	be := backend(b, docker.Config{})
	ctx := context.Background()
	runnerID := "rn_dbench" + randHex()
	for i := range 10 {
		s := spec(b, fmt.Sprintf("sb_db%d%s", i, randHex()))
		s.RunnerID = runnerID
		if _, err := be.CreateSandbox(ctx, s); err != nil {
			b.Fatal(err)
		}
		defer be.RemoveSandbox(context.Background(), s.SandboxID)
		script := `mkdir -p /data && cd /data && i=0; while [ $i -lt 2000 ]; do echo $i > f$i; i=$((i+1)); done`
		if out, err := exec.Command("docker", "exec", "-u", "0", docker.ContainerName(s.SandboxID), "sh", "-c", script).CombinedOutput(); err != nil {
			b.Fatalf("fill: %v: %s", err, out)
		}
	}
	b.Run("DiskUsage", func(b *testing.B) {
		for b.Loop() {
			if list, err := be.DiskUsage(ctx, runnerID); err != nil || len(list) != 10 {
				b.Fatalf("%d sandboxes, %v", len(list), err)
			}
		}
	})
	b.Run("ListSandboxes", func(b *testing.B) {
		for b.Loop() {
			if list, err := be.ListSandboxes(ctx, runnerID); err != nil || len(list) != 10 {
				b.Fatalf("%d sandboxes, %v", len(list), err)
			}
		}
	})
}
