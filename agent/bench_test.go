package agent_test

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// BenchmarkExecTrue measures one exec of `true` through the agent: a new
// session on an open SSH connection over the Unix socket, the agent binary
// running as its own process (as in a sandbox). Compare with
// BenchmarkDockerExecTrue, measured in the same run.
func BenchmarkExecTrue(b *testing.B) {
	f := newFixture(b)
	startBinary(b, f, false)
	c := f.client(b)
	b.ResetTimer()
	for b.Loop() {
		s, err := c.NewSession()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("true"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkDockerExecTrue measures `true` through the Docker Engine API's
// exec (create, attach, read to the end, inspect for the exit code) in a
// running busybox container: what a runner without the agent would pay.
func BenchmarkDockerExecTrue(b *testing.B) {
	ensureBusyboxImage(b)
	out, err := exec.Command("docker", "run", "-d", "--rm", "--network", "none", busyboxImage, "sleep", "3600").CombinedOutput()
	if err != nil {
		b.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	b.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if code := dockerExec(ctx, b, cli, id, "true"); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

func dockerExec(ctx context.Context, b *testing.B, cli *client.Client, id string, cmd ...string) int {
	created, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		b.Fatal(err)
	}
	att, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		b.Fatal(err)
	}
	_, err = stdcopy.StdCopy(io.Discard, io.Discard, att.Reader)
	att.Close()
	if err != nil {
		b.Fatal(err)
	}
	ins, err := cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		b.Fatal(err)
	}
	return ins.ExitCode
}
