package runner_test

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// BenchmarkCreateStart compares the runner's create handler (host
// directory, host key, isolation settings, agent as PID 1, the image's
// inspect, name lookup) with a bare ContainerCreate+ContainerStart of the
// same image, in the same run. Removal happens outside the timer.
func BenchmarkCreateStart(b *testing.B) {
	be := dockerBackend(b)
	b.Run("runner", func(b *testing.B) {
		r := handleRunner(b, be)
		ctx := context.Background()
		for b.Loop() {
			p := payload(randID("sb_"))
			res := r.Handle(ctx, job(wire.KindCreate, p), nil)
			b.StopTimer()
			if !res.OK {
				b.Fatal(res.Error)
			}
			r.Handle(ctx, job(wire.KindDelete, p), nil)
			b.StartTimer()
		}
	})
	b.Run("docker", func(b *testing.B) {
		cli := be.Client()
		ctx := context.Background()
		for b.Loop() {
			resp, err := cli.ContainerCreate(ctx, &container.Config{Image: codepod.TinyImage, Cmd: []string{"sleep", "3600"}},
				&container.HostConfig{NetworkMode: "none"}, nil, nil, randID("codepod-bench-"))
			if err != nil {
				b.Fatal(err)
			}
			if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cli.ContainerRemove(ctx, resp.ID, container.RemoveOptions{Force: true})
			b.StartTimer()
		}
	})
}
