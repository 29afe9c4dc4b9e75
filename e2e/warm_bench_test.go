package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
)

// BenchmarkCreateToFirstExec measures create → first exec of `true`
// through REST (POST /sandboxes, GET until running every 2 ms, POST
// /exec), from a warm pool and cold, beside the Docker Engine API's
// create + start + exec of the same image, in one run, and reports each
// one's p50 and p99:
//
//	go test -run '^$' -bench CreateToFirstExec -benchtime 200x ./e2e/
//
// Each warm cycle starts with the pool full (it refills off the clock:
// the figure is what a create gets when a warm sandbox is there); the
// cold cycles ask for a shape no pool holds. Sandboxes are deleted off
// the clock.
func BenchmarkCreateToFirstExec(b *testing.B) {
	testenv.Docker(b)
	pool, err := runner.ParsePoolSpec(codepod.TinyImage + "=2,memory=64m")
	if err != nil {
		b.Fatal(err)
	}
	c, err := startCluster(testenv.AgentBinary(b), pool)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	ctx := context.Background()
	b.Run("warm", func(b *testing.B) {
		measureCycles(b, func() error {
			b.StopTimer()
			waitPoolFull(b, c.Runner, 2)
			b.StartTimer()
			return c.createThenExec(ctx, b, `{"image":"codepod/tiny:latest","memory":"64m"}`)
		})
	})
	b.Run("warm-env", func(b *testing.B) {
		measureCycles(b, func() error {
			b.StopTimer()
			waitPoolFull(b, c.Runner, 2)
			b.StartTimer()
			return c.createThenExec(ctx, b, `{"image":"codepod/tiny:latest","memory":"64m","env":{"AGENT_TOKEN":"t0k","MODE":"bench"}}`)
		})
	})
	b.Run("cold", func(b *testing.B) {
		measureCycles(b, func() error {
			return c.createThenExec(ctx, b, `{"image":"codepod/tiny:latest","memory":"96m"}`)
		})
	})
	b.Run("docker", func(b *testing.B) {
		cli := c.Docker.Client()
		measureCycles(b, func() error {
			id, err := dockerCreateStartExec(ctx, cli)
			b.StopTimer()
			if id != "" {
				cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
			}
			b.StartTimer()
			return err
		})
	})
}

// phases are when, from the create's start, each REST cycle got its
// create answer, saw running, and had its exec answer.
var phases struct{ create, running, exec []time.Duration }

// reportPhases reports the median of each phase, and resets them.
func reportPhases(b *testing.B) {
	for name, lat := range map[string][]time.Duration{"created": phases.create, "running": phases.running, "exec-done": phases.exec} {
		if len(lat) > 0 {
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), name+"-p50-ms")
		}
	}
	phases.create, phases.running, phases.exec = nil, nil, nil
}

// measureCycles is measure for ops that stop the timer for part of their
// work: it times each op by the benchmark's own clock.
func measureCycles(b *testing.B, op func() error) {
	var lat []time.Duration
	for b.Loop() {
		before := b.Elapsed()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, b.Elapsed()-before)
	}
	reportPercentiles(b, lat)
	reportPhases(b)
}

// createThenExec creates a sandbox, waits until it runs, runs `true`
// through REST, then deletes it off the clock.
func (c *cluster) createThenExec(ctx context.Context, b *testing.B, spec string) error {
	var sb struct{ ID, Status, Reason string }
	t0 := time.Now()
	status, raw, err := c.rawJSON(ctx, "POST", "/api/v1/sandboxes", spec, &sb)
	phases.create = append(phases.create, time.Since(t0))
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("create: %d %v: %s", status, err, raw)
	}
	defer func() {
		b.StopTimer()
		c.raw(ctx, "DELETE", "/api/v1/sandboxes/"+sb.ID, nil, "")
		b.StartTimer()
	}()
	for sb.Status != "running" {
		if sb.Status != "pending" && sb.Status != "creating" {
			return fmt.Errorf("sandbox %s is %s: %s", sb.ID, sb.Status, sb.Reason)
		}
		time.Sleep(2 * time.Millisecond) // the client's wake-up: REST has no wait
		if status, raw, err = c.rawJSON(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, "", &sb); err != nil || status != http.StatusOK {
			return fmt.Errorf("get: %d %v: %s", status, err, raw)
		}
	}
	phases.running = append(phases.running, time.Since(t0))
	status, raw, err = c.raw(ctx, "POST", "/api/v1/sandboxes/"+sb.ID+"/exec", strings.NewReader(`{"command":["true"]}`), "application/json")
	if err != nil || status != http.StatusOK || !strings.Contains(string(raw), `"exit_code":0`) {
		return fmt.Errorf("first exec: %d %v: %s", status, err, raw)
	}
	phases.exec = append(phases.exec, time.Since(t0))
	return nil
}

// rawJSON sends body (none when "") and decodes a 2xx answer into out.
func (c *cluster) rawJSON(ctx context.Context, method, path, body string, out any) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	status, raw, err := c.raw(ctx, method, path, r, "application/json")
	if err == nil && status/100 == 2 {
		err = json.Unmarshal(raw, out)
	}
	return status, raw, err
}

type dockerClient = *client.Client

// waitPoolFull waits (off the clock) until r's first pool has n ready.
func waitPoolFull(b testing.TB, r *runner.Runner, n int) {
	deadline := time.Now().Add(time.Minute)
	for wp := r.WarmPools(); len(wp) == 0 || wp[0].Ready < n; wp = r.WarmPools() {
		if time.Now().After(deadline) {
			b.Fatalf("the warm pool did not refill: %+v", wp)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dockerCreateStartExec is the Engine API's path to a first exec: create
// and start a container of the tiny image, then exec `true` in it.
func dockerCreateStartExec(ctx context.Context, cli dockerClient) (string, error) {
	cr, err := cli.ContainerCreate(ctx, &container.Config{Image: codepod.TinyImage, Cmd: []string{"sleep", "3600"}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return "", err
	}
	if err := cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		return cr.ID, err
	}
	ex, err := cli.ContainerExecCreate(ctx, cr.ID, container.ExecOptions{Cmd: []string{"true"}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return cr.ID, err
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return cr.ID, err
	}
	io.Copy(io.Discard, att.Reader)
	att.Close()
	insp, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err == nil && insp.ExitCode != 0 {
		err = fmt.Errorf("docker exec true: exit %d", insp.ExitCode)
	}
	return cr.ID, err
}
