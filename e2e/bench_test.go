package e2e_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/codepod-dev/codepod/runner/docker"
)

// BenchmarkRESTExecTrue compares `true` through POST /exec (HTTP → server →
// pooled SSH connection → tunnel → runner → agent) with the Docker Engine
// API's exec (create, attach, inspect) in the same container, and reports
// each one's median and 99th percentile.
func BenchmarkRESTExecTrue(b *testing.B) {
	c := sharedCluster(b)
	sb := newSandbox(b, c, "bench-exec")
	ctx := context.Background()
	body := `{"command":["true"]}`
	b.Run("rest", func(b *testing.B) {
		measure(b, func() error {
			status, raw, err := c.raw(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", strings.NewReader(body), "application/json")
			if err == nil && (status != http.StatusOK || !strings.Contains(string(raw), `"exit_code":0`)) {
				b.Fatalf("exec: %d %s", status, raw)
			}
			return err
		})
	})
	b.Run("docker", func(b *testing.B) {
		cli, name := c.Docker.Client(), docker.ContainerName(sb.ID)
		measure(b, func() error {
			id, err := cli.ContainerExecCreate(ctx, name, container.ExecOptions{Cmd: []string{"true"}, AttachStdout: true, AttachStderr: true})
			if err != nil {
				return err
			}
			att, err := cli.ContainerExecAttach(ctx, id.ID, container.ExecAttachOptions{})
			if err != nil {
				return err
			}
			io.Copy(io.Discard, att.Reader)
			att.Close()
			insp, err := cli.ContainerExecInspect(ctx, id.ID)
			if err == nil && insp.ExitCode != 0 {
				b.Fatalf("docker exec true: exit %d", insp.ExitCode)
			}
			return err
		})
	})
}

// measure runs op in b.Loop and reports the p50 and p99 latency in ms.
func measure(b *testing.B, op func() error) {
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// reportPercentiles reports lat's median and 99th percentile in ms.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
