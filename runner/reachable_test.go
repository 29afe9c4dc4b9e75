package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

// faultyBackend is the real Docker backend with the agent channel (and the
// inventory) replaced where a test needs a fault the real thing cannot
// produce on demand.
type faultyBackend struct {
	*docker.Backend
	dial func(ctx context.Context, sandboxID string) (net.Conn, error)
	list func(ctx context.Context, runnerID string) ([]runner.ContainerState, error)
}

func (f *faultyBackend) DialAgent(ctx context.Context, id string) (net.Conn, error) {
	if f.dial != nil {
		return f.dial(ctx, id)
	}
	return f.Backend.DialAgent(ctx, id)
}

func (f *faultyBackend) ListSandboxes(ctx context.Context, runnerID string) ([]runner.ContainerState, error) {
	if f.list != nil {
		return f.list(ctx, runnerID)
	}
	return f.Backend.ListSandboxes(ctx, runnerID)
}

// TestACreateWhoseAgentNeverAnswersFailsWithAReason: running means
// reachable, so a create whose agent does not answer an SSH handshake
// within the limit ends in an error the user can read.
func TestACreateWhoseAgentNeverAnswersFailsWithAReason(t *testing.T) {
	b := dockerBackend(t)
	cases := []struct {
		name string
		dial func(context.Context, string) (net.Conn, error)
		want string
	}{
		{"refused", func(context.Context, string) (net.Conn, error) {
			return nil, errors.New("connection refused")
		}, "the agent did not answer within 1s: connection refused"},
		{"silent", func(context.Context, string) (net.Conn, error) {
			c, s := net.Pipe() // accepts, never speaks SSH
			go func() { <-time.After(5 * time.Second); s.Close() }()
			return c, nil
		}, "the agent did not answer within 1s: ssh handshake with the agent"},
		{"stopped", func(_ context.Context, id string) (net.Conn, error) {
			return nil, fmt.Errorf("sandbox %s: %w", id, runner.ErrNotRunning)
		}, "the sandbox stopped as it started"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fb := &faultyBackend{Backend: b, dial: c.dial}
			r := handleRunner(t, b, func(cfg *runner.Config) { cfg.Backend = fb; cfg.ReachableTimeout = time.Second })
			p := payload(randID("sb_"))
			start := time.Now()
			res := r.Handle(t.Context(), job(wire.KindCreate, p), nil)
			if res.OK || !strings.Contains(res.Error, c.want) {
				t.Fatalf("create: %+v, want an error containing %q", res, c.want)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("the create took %s to give up", d)
			}
		})
	}
}

// TestStartReportsOnlyOnceTheAgentAnswers: a start's result comes after
// the agent answered; the first dial after it succeeds at once.
func TestStartReportsOnlyOnceTheAgentAnswers(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	mustHandle(t, r, job(wire.KindCreate, p))
	mustHandle(t, r, job(wire.KindStop, p))
	mustHandle(t, r, job(wire.KindStart, p))
	c, err := b.DialAgent(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("first dial after start: %v", err)
	}
	c.Close()
	// The inventory names the agent's version, read from its SSH banner.
	out, err := exec.Command(testenv.AgentBinary(t), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))[1]
	inv, err := r.Inventory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range inv {
		if s.ID == p.ID {
			found = true
			if s.AgentVersion != want {
				t.Fatalf("inventory reports agent version %q, want %q", s.AgentVersion, want)
			}
		}
	}
	if !found {
		t.Fatalf("sandbox %s not in the inventory %+v", p.ID, inv)
	}
}

// TestInventoryCarriesWhyASandboxStopped: the reason the backend found
// (here an OOM kill) goes on the wire for the server to show.
func TestInventoryCarriesWhyASandboxStopped(t *testing.T) {
	b := dockerBackend(t)
	fb := &faultyBackend{Backend: b, list: func(context.Context, string) ([]runner.ContainerState, error) {
		return []runner.ContainerState{{SandboxID: "sb_oom", ContainerID: "c1", OOMKilled: true, ExitCode: 137,
			Reason: "the sandbox ran out of memory (limit 512 MiB); its processes were killed"}}, nil
	}}
	r := handleRunner(t, b, func(cfg *runner.Config) { cfg.Backend = fb })
	inv, err := r.Inventory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := wire.SandboxState{ID: "sb_oom", State: wire.StateStopped, OOMKilled: true, ExitCode: 137,
		Reason: "the sandbox ran out of memory (limit 512 MiB); its processes were killed"}
	if len(inv) != 1 || inv[0] != want {
		t.Fatalf("inventory %+v, want %+v", inv, want)
	}
}

// TestACreateForARuntimeTheRunnerLacksFailsClearly: nothing is pulled or
// made for a runtime the engine does not have.
func TestACreateForARuntimeTheRunnerLacksFailsClearly(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	p.Runtime = "kata"
	res := r.Handle(t.Context(), job(wire.KindCreate, p), nil)
	if res.OK || !strings.Contains(res.Error, `runtime "kata" is not available on this runner (it has `) {
		t.Fatalf("create: %+v", res)
	}
	if n := countContainers(t, b, p.ID); n != 0 {
		t.Fatalf("%d containers made", n)
	}
}
