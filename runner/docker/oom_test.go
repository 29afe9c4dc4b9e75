package docker_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
)

// login authorizes a new key in the sandbox's etc and opens an SSH client
// to its agent as root, through DialAgent with the host key pinned.
func login(t *testing.T, b *docker.Backend, s runner.ContainerSpec) *ssh.Client {
	return loginTB(t, b, s)
}

func loginTB(t testing.TB, b *docker.Backend, s runner.ContainerSpec) *ssh.Client {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.EtcDir, "authorized_keys"), ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := b.DialAgent(context.Background(), s.SandboxID)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := hostkey.PublicKey(s.EtcDir)
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, "agent", &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 10 * time.Second})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := ssh.NewClient(sc, chans, reqs)
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs script in a new session and returns its output and error.
func run(t testing.TB, c *ssh.Client, script string) (string, error) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(script)
	return string(out), err
}

// TestOOMTheWorkloadDiesAndTheAgentLives: what the agent starts has
// oom_score_adj 1000, so when a session eats the sandbox's memory the
// kernel kills it, and the agent (PID 1) and the sandbox live on.
func TestOOMTheWorkloadDiesAndTheAgentLives(t *testing.T) {
	b := backend(t, docker.Config{})
	s := attackSandbox(t, b, "", 64<<20)
	c := login(t, b, s)
	// The agent writes a process's score just after it starts (see
	// docs/security-channel.md), so a command that reads its own at once can
	// still see 0 on a busy machine. The session's shell ($$, the process the
	// agent started) must reach 1000, and a child it forks then inherits it.
	out, err := run(t, c, `for i in $(seq 200); do [ "$(cat /proc/$$/oom_score_adj)" = 1000 ] && break; sleep 0.05; done; cat /proc/self/oom_score_adj /proc/1/oom_score_adj`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	adj := strings.Fields(out)
	if len(adj) != 2 || adj[0] != "1000" {
		t.Fatalf("oom_score_adj of a session %q, want 1000", out)
	}
	t.Logf("the agent's oom_score_adj in a sandbox: %s (-1000 needs CAP_SYS_RESOURCE)", adj[1])
	// One line of 200 MB: sort holds it in memory, past the 64 MiB limit.
	out, err = run(t, c, "head -c 200000000 /dev/zero | sort > /dev/null")
	if err == nil {
		t.Fatalf("a 200 MB sort in 64 MiB succeeded: %s", out)
	}
	st, ierr := b.Client().ContainerInspect(context.Background(), docker.ContainerName(s.SandboxID))
	if ierr != nil || !st.State.Running {
		t.Fatalf("the sandbox stopped after its workload ran out of memory: %v %+v", ierr, st.State)
	}
	if out, err := run(t, c, "echo still here"); err != nil || !strings.Contains(out, "still here") {
		t.Fatalf("the agent does not serve after the OOM kill: %v: %s", err, out)
	}
}

// TestOOMKilledSandboxIsReportedWithItsReason: when the kernel kills the
// agent itself (here it is made the first choice), the inventory says the
// sandbox ran out of memory and names the limit.
func TestOOMKilledSandboxIsReportedWithItsReason(t *testing.T) {
	b := backend(t, docker.Config{})
	s := attackSandbox(t, b, "", 32<<20)
	if out, err := asRoot(t, s, "echo 1000 > /proc/1/oom_score_adj"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	asRoot(t, s, "head -c 200000000 /dev/zero | sort > /dev/null") // docker exec: oom_score_adj 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := b.ListSandboxes(context.Background(), s.RunnerID)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(list, func(c runner.ContainerState) bool { return c.SandboxID == s.SandboxID })
		if i >= 0 && !list[i].Running {
			got := list[i]
			if !got.OOMKilled || got.Reason != "the sandbox ran out of memory (limit 32 MiB); its processes were killed" {
				t.Fatalf("inventory %+v, want an OOM kill with the limit in its reason", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox still runs after its agent was made the OOM killer's choice: %+v", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGVisorSandboxRunsUnderGVisorWithOnlyLoopback: runtime "gvisor" runs
// the sandbox under runsc (its kernel says so), the agent is reachable
// through DialAgent, and network none leaves only the loopback.
func TestGVisorSandboxRunsUnderGVisorWithOnlyLoopback(t *testing.T) {
	b := backend(t, docker.Config{})
	rts, err := b.Runtimes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rts, "gvisor") || !slices.Contains(rts, "runc") {
		t.Fatalf("the engine's runtimes %v lack runc or gvisor; register runsc in /etc/docker/daemon.json (docs/security-channel.md)", rts)
	}
	s := attackSandbox(t, b, "gvisor", 128<<20) // attackSandbox waits for the agent's SSH handshake
	c, err := b.Client().ContainerInspect(context.Background(), docker.ContainerName(s.SandboxID))
	if err != nil || c.HostConfig.Runtime != "runsc" {
		t.Fatalf("container runtime %q (%v), want runsc", c.HostConfig.Runtime, err)
	}
	out, err := asRoot(t, s, "dmesg | head -1; uname -r; tail -n +3 /proc/net/dev | cut -d: -f1")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Fields(out)
	if !strings.Contains(out, "Starting gVisor") || !slices.Contains(lines, "4.4.0") {
		t.Errorf("not gVisor's kernel: %q", out)
	}
	if ifaces := lines[len(lines)-1:]; !strings.Contains(out, "lo") || strings.Count(out, "eth") > 0 || ifaces[0] != "lo" {
		t.Errorf("interfaces besides lo with network none: %q", out)
	}
}

// TestAttackSymlinkThroughSFTPIsNotFollowed: the same swap without exec,
// through the agent's SFTP (what the files API uses): the symlink stays a
// file in the sandbox's tmpfs and the next dial reaches the agent.
func TestAttackSymlinkThroughSFTPIsNotFollowed(t *testing.T) {
	b := backend(t, docker.Config{})
	fake, conns := fakeDockerSocket(t)
	s := attackSandbox(t, b, "", 64<<20)
	fc, err := sftp.NewClient(login(t, b, s))
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	if err := fc.Symlink(fake, "/.codepod/run/x"); err != nil {
		t.Fatal(err)
	}
	if err := fc.PosixRename("/.codepod/run/x", "/.codepod/run/agent.sock"); err != nil {
		t.Fatal(err)
	}
	if err := agentHandshake(b, s); err != nil {
		t.Fatalf("after the symlink the dial does not reach the agent: %v", err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the host's stand-in Docker socket got %d connections", n)
	}
}

// BenchmarkRuntime compares runc and gVisor: create→agent answering, and
// one SSH session running `true` through DialAgent.
//
//	go test -run '^$' -bench Runtime -benchtime 5x ./runner/docker/
func BenchmarkRuntime(b *testing.B) {
	be := backend(b, docker.Config{})
	for _, rt := range []string{"runc", "gvisor"} {
		b.Run(rt+"/create-to-reachable", func(b *testing.B) {
			for b.Loop() {
				s := spec(b, "sb_bench"+randHex())
				s.Runtime, s.MemoryBytes = rt, 128<<20
				if _, err := be.CreateSandbox(context.Background(), s); err != nil {
					b.Fatal(err)
				}
				for agentHandshake(be, s) != nil {
					time.Sleep(5 * time.Millisecond)
				}
				b.StopTimer()
				be.RemoveSandbox(context.Background(), s.SandboxID)
				b.StartTimer()
			}
		})
		b.Run(rt+"/exec-true", func(b *testing.B) {
			s := spec(b, "sb_bench"+randHex())
			s.Runtime, s.MemoryBytes = rt, 128<<20
			if _, err := be.CreateSandbox(context.Background(), s); err != nil {
				b.Fatal(err)
			}
			defer be.RemoveSandbox(context.Background(), s.SandboxID)
			for agentHandshake(be, s) != nil {
				time.Sleep(5 * time.Millisecond)
			}
			c := loginTB(b, be, s)
			for b.Loop() {
				if out, err := run(b, c, "true"); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
	}
}
