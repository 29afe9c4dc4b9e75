package runner_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

func TestCreateRunsTheAgentAsPID1(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	res := mustHandle(t, r, job(wire.KindCreate, p))

	c := inspect(t, b, p.ID)
	if res.ContainerID != c.ID || !c.State.Running {
		t.Fatalf("result container %q, engine has %q (running %v)", res.ContainerID, c.ID, c.State.Running)
	}
	etc := filepath.Join(r.SandboxDir(p.ID), "etc")
	if fp, err := hostkey.Fingerprint(etc); err != nil || fp != res.HostKeyFingerprint || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("fingerprint: result %q, host key %q (%v)", res.HostKeyFingerprint, fp, err)
	}
	name := docker.ContainerName(p.ID)
	cmdline := strings.Split(strings.TrimRight(mustExec(t, name, "cat", "/proc/1/cmdline"), "\x00"), "\x00")
	if want := []string{docker.AgentPath, "--listen-tcp", "127.0.0.1:49983", "--", "/bin/sh"}; strings.Join(cmdline, " ") != strings.Join(want, " ") {
		t.Errorf("PID 1 is %q, want %q", cmdline, want)
	}
	if got := strings.TrimSpace(mustExec(t, name, "hostname")); got != p.Name {
		t.Errorf("hostname %q, want the sandbox name %q", got, p.Name)
	}
	if env := mustExec(t, name, "cat", "/proc/1/environ"); !strings.Contains(env, "GREETING=hello from codepod") {
		t.Errorf("payload env missing from PID 1's environment: %q", env)
	}
	wantLabels := map[string]string{docker.LabelSandbox: p.ID, docker.LabelOwner: p.OwnerID, docker.LabelRunner: r.ID(), docker.LabelName: p.Name}
	for k, v := range wantLabels {
		if c.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Config.Labels[k], v)
		}
	}
	checkHostDir(t, r, p)
	// The create's result came after the agent answered: it answers now.
	conn, err := b.DialAgent(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("dial the agent right after create: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	banner := make([]byte, 8)
	if _, err := io.ReadFull(conn, banner); err != nil || string(banner) != "SSH-2.0-" {
		t.Fatalf("agent banner %q, %v", banner, err)
	}
}

func checkHostDir(t *testing.T, r *runner.Runner, p *wire.SandboxPayload) {
	t.Helper()
	etc := filepath.Join(r.SandboxDir(p.ID), "etc")
	files := map[string]os.FileMode{"host_key": 0o600, "ssh_secret": 0o600, "authorized_keys": 0o644, "sandbox_id": 0o644}
	for f, mode := range files {
		st, err := os.Stat(filepath.Join(etc, f))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", f, err, st.Mode().Perm(), mode)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "ssh_secret")); string(b) != string(p.SSHSecret) {
		t.Errorf("ssh_secret = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "authorized_keys")); string(b) != p.AuthorizedKeys[0]+"\n" {
		t.Errorf("authorized_keys = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "sandbox_id")); string(b) != p.ID+"\n" {
		t.Errorf("sandbox_id = %q", b)
	}
}

func TestRepeatedCreateMakesOneContainer(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	first := mustHandle(t, r, job(wire.KindCreate, p))

	// Redeliveries, some of them racing each other for the container name.
	var wg sync.WaitGroup
	results := make([]wire.JobResult, 4)
	for i := range results {
		wg.Go(func() { results[i] = mustHandle(t, r, job(wire.KindCreate, p)) })
	}
	wg.Wait()
	for _, res := range results {
		if res.ContainerID != first.ContainerID || res.HostKeyFingerprint != first.HostKeyFingerprint {
			t.Errorf("repeated create gave %+v, first gave %+v", res, first)
		}
	}
	if n := countContainers(t, b, p.ID); n != 1 {
		t.Fatalf("%d containers for one sandbox, want 1", n)
	}
}

func TestConcurrentFirstCreatesMakeOneContainer(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	var wg sync.WaitGroup
	ids := make([]string, 3)
	for i := range ids {
		wg.Go(func() { ids[i] = mustHandle(t, r, job(wire.KindCreate, p)).ContainerID })
	}
	wg.Wait()
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("concurrent creates returned different containers: %v", ids)
	}
	if n := countContainers(t, b, p.ID); n != 1 {
		t.Fatalf("%d containers for one sandbox, want 1", n)
	}
	if !inspect(t, b, p.ID).State.Running {
		t.Fatal("container not running")
	}
}

func TestStopStartDeleteAreIdempotent(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	created := mustHandle(t, r, job(wire.KindCreate, p))

	for range 2 {
		mustHandle(t, r, job(wire.KindStop, p))
		if st := inspect(t, b, p.ID).State; st.Running {
			t.Fatalf("still running after stop: %+v", st)
		}
	}
	for range 2 {
		res := mustHandle(t, r, job(wire.KindStart, p))
		if res.ContainerID != created.ContainerID || res.HostKeyFingerprint != created.HostKeyFingerprint {
			t.Fatalf("start gave %+v, create gave %+v", res, created)
		}
		if !inspect(t, b, p.ID).State.Running {
			t.Fatal("not running after start")
		}
	}
	for range 2 {
		mustHandle(t, r, job(wire.KindDelete, p))
		if n := countContainers(t, b, p.ID); n != 0 {
			t.Fatalf("%d containers left after delete", n)
		}
		if _, err := os.Stat(r.SandboxDir(p.ID)); !os.IsNotExist(err) {
			t.Fatalf("host directory left after delete: %v", err)
		}
	}
	mustHandle(t, r, job(wire.KindStop, p)) // stopping what is gone is no error
	res := r.Handle(t.Context(), job(wire.KindStart, p), nil)
	if res.OK || !strings.Contains(res.Error, "has no host directory on this runner") {
		t.Fatalf("start of a deleted sandbox: %+v", res)
	}
	if _, err := os.Stat(r.SandboxDir(p.ID)); !os.IsNotExist(err) {
		t.Fatalf("start of a deleted sandbox made its host directory again: %v", err)
	}
	if n := countContainers(t, b, p.ID); n != 0 {
		t.Fatalf("start of a deleted sandbox made %d containers", n)
	}
}

func TestStartOfAContainerRemovedBehindOurBackFailsClearly(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	mustHandle(t, r, job(wire.KindCreate, p))
	if err := b.Client().ContainerRemove(t.Context(), docker.ContainerName(p.ID), container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	res := r.Handle(t.Context(), job(wire.KindStart, p), nil)
	if res.OK || !strings.Contains(res.Error, "has no container on this runner") {
		t.Fatalf("start without a container: %+v", res)
	}
	mustHandle(t, r, job(wire.KindDelete, p))
}

func TestMissingImageFailsClearlyAndLeavesNothing(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	// A registry on loopback that does not listen: the pull fails at once,
	// and no traffic leaves the machine.
	p.Image = "127.0.0.1:9/codepod-test/missing:1"
	res := r.Handle(t.Context(), job(wire.KindCreate, p), nil)
	want := `image "127.0.0.1:9/codepod-test/missing:1" is not on this runner and could not be pulled: `
	if res.OK || !strings.HasPrefix(res.Error, want) {
		t.Fatalf("create with a missing image: %+v, want an error starting %q", res, want)
	}
	if n := countContainers(t, b, p.ID); n != 0 {
		t.Fatalf("%d containers left after a failed pull", n)
	}
	if _, err := os.Stat(r.SandboxDir(p.ID)); !os.IsNotExist(err) {
		t.Fatalf("host directory left after a failed pull: %v", err)
	}
}

func TestTunnelJobsForUnknownSandboxesFailClearly(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	j := wire.Job{ID: "job_t", Kind: wire.KindTunnel, SandboxID: "sb_x", Tunnel: &wire.TunnelPayload{TunnelID: "tun_1", Path: "/api/v1/runners/tunnels/tun_1"}}
	res := r.Handle(t.Context(), j, nil)
	// The dial-back comes first (so a client learns at once what failed);
	// this runner's server is unreachable.
	if res.OK || !strings.HasPrefix(res.Error, "dial the tunnel back to the server: ") {
		t.Fatalf("tunnel job: %+v", res)
	}
}

func TestBadJobsFailWithoutTouchingDocker(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	cases := map[string]wire.Job{
		"path in id":      {ID: "j1", Kind: wire.KindDelete, SandboxID: "../../etc"},
		"no payload":      {ID: "j2", Kind: wire.KindCreate, SandboxID: "sb_1"},
		"other's payload": {ID: "j3", Kind: wire.KindCreate, SandboxID: "sb_1", Sandbox: payload("sb_2xxxxxx")},
		"unknown kind":    {ID: "j4", Kind: "explode", SandboxID: "sb_1"},
	}
	for name, j := range cases {
		t.Run(name, func(t *testing.T) {
			if res := r.Handle(t.Context(), j, nil); res.OK || res.Error == "" {
				t.Fatalf("bad job succeeded: %+v", res)
			}
		})
	}
}
