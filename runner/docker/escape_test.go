package docker_test

// The attack suite of the runner's channel to the agent (issue 8, item 1;
// docs/security-channel.md). Each test does what a hostile tenant with root
// in a sandbox would do, then checks that nothing of it reached the
// runner's host. On the old design (/.codepod/run a read-write bind of
// <state>/sandboxes/<id>/run, the runner dialing run/agent.sock by path)
// every one of them fails: the stand-in Docker socket is connected, the
// container has a read-write bind mount, the files and the 100 MB land in
// the runner's state directory.

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
)

// runtimes the container checks run under: the engine's default and
// gVisor when the engine has it (CI registers it; see docs/security-channel.md).
func runtimes(t *testing.T, b *docker.Backend) []string {
	t.Helper()
	have, err := b.Runtimes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := []string{""}
	for _, rt := range have {
		if rt == "gvisor" {
			out = append(out, "gvisor")
		}
	}
	if len(out) == 1 && os.Getenv("CI") != "" {
		t.Errorf("gVisor (runsc) is not registered with the engine; CI runs these checks under it too")
	}
	return out
}

func runtimeName(rt string) string {
	if rt == "" {
		return "default"
	}
	return rt
}

// attackSandbox creates a running sandbox under runtime rt and returns its
// spec (the host directory is filepath.Dir(spec.EtcDir)).
func attackSandbox(t *testing.T, b *docker.Backend, rt string, memory int64) runner.ContainerSpec {
	t.Helper()
	s := spec(t, "sb_attack"+randHex())
	s.Runtime, s.MemoryBytes = rt, memory
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := b.CreateSandbox(ctx, s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.RemoveSandbox(context.Background(), s.SandboxID) })
	waitAgent(t, b, s)
	return s
}

// asRoot runs script with sh as root in the sandbox, as `codepod sandbox
// exec` would, and returns its combined output and error.
func asRoot(t *testing.T, s runner.ContainerSpec, script string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", "exec", "-u", "0", docker.ContainerName(s.SandboxID), "sh", "-c", script).CombinedOutput()
	return string(out), err
}

// waitAgent waits until the agent answers (the runner's create does the
// same before it reports the sandbox running).
func waitAgent(t *testing.T, b *docker.Backend, s runner.ContainerSpec) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := agentHandshake(b, s)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent of %s did not answer: %v", s.SandboxID, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agentHandshake dials the agent as the runner does and runs an SSH key
// exchange, pinning the host key the runner generated in etc: only the
// real agent passes.
func agentHandshake(b *docker.Backend, s runner.ContainerSpec) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := b.DialAgent(ctx, s.SandboxID)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fp, err := hostkey.Fingerprint(s.EtcDir)
	if err != nil {
		return err
	}
	matched := false
	cfg := &ssh.ClientConfig{User: "root", HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if ssh.FingerprintSHA256(key) != fp {
			return errors.New("host key is not the agent's")
		}
		matched = true
		return nil
	}}
	c, _, _, err := ssh.NewClientConn(conn, "agent", cfg)
	if err == nil {
		c.Close()
	}
	if !matched {
		return err
	}
	return nil
}

// fakeDockerSocket listens on a Unix socket in a host temp directory and
// counts connections: the stand-in for /var/run/docker.sock.
func fakeDockerSocket(t *testing.T) (string, *atomic.Int32) {
	dir, err := os.MkdirTemp("", "cpx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Write([]byte("HTTP/1.0 200 OK\r\nServer: Docker/fake\r\n\r\n"))
			c.Close()
		}
	}()
	return path, &n
}

// hostFiles lists every path under dir (relative), for before/after checks.
func hostFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// noWritableBind fails when the container has any read-write bind mount or
// /.codepod/run is not a tmpfs.
func noWritableBind(t *testing.T, b *docker.Backend, s runner.ContainerSpec) {
	t.Helper()
	c, err := b.Client().ContainerInspect(context.Background(), docker.ContainerName(s.SandboxID))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Mounts {
		if m.Type == "bind" && m.RW {
			t.Errorf("read-write bind mount %s → %s: the tenant can write the runner's host", m.Source, m.Destination)
		}
		if m.Type == "volume" {
			t.Errorf("volume %s at %s is on the runner's disk", m.Name, m.Destination)
		}
	}
	if opts, ok := c.HostConfig.Tmpfs[docker.RunPath]; !ok || !strings.Contains(opts, "size=") {
		t.Errorf("%s is not a size-limited tmpfs: %v", docker.RunPath, c.HostConfig.Tmpfs)
	}
}

// TestAttackSymlinkedAgentSocketReachesTheAgentNotTheHost: root in the
// sandbox replaces the agent's socket with a symlink to the host's Docker
// socket (a socket of the test's own, and literally /var/run/docker.sock).
// The next dial still reaches the real agent and the host socket sees no
// connection.
func TestAttackSymlinkedAgentSocketReachesTheAgentNotTheHost(t *testing.T) {
	b := backend(t, docker.Config{})
	fake, conns := fakeDockerSocket(t)
	for _, rt := range runtimes(t, b) {
		for _, target := range []string{fake, "/var/run/docker.sock"} {
			t.Run(runtimeName(rt)+"/"+target, func(t *testing.T) {
				s := attackSandbox(t, b, rt, 64<<20)
				out, err := asRoot(t, s, "ln -s "+target+" /.codepod/run/x && mv -f /.codepod/run/x /.codepod/run/agent.sock && ls -l /.codepod/run/agent.sock")
				if err != nil {
					t.Fatalf("the attack itself failed (root can write its own tmpfs): %v: %s", err, out)
				}
				for range 3 { // the next dials: tunnels, probes
					if err := agentHandshake(b, s); err != nil {
						t.Fatalf("after the symlink the dial does not reach the agent: %v", err)
					}
				}
				if n := conns.Load(); n != 0 {
					t.Fatalf("the host's stand-in Docker socket got %d connections", n)
				}
				noWritableBind(t, b, s)
			})
		}
	}
}

// TestAttackFIFOHardLinkAndSetuidFileStayInTheSandbox: root places a FIFO,
// a hard link and a setuid copy of a shell where the host directory used
// to be. Nothing of it appears on the host.
func TestAttackFIFOHardLinkAndSetuidFileStayInTheSandbox(t *testing.T) {
	b := backend(t, docker.Config{})
	for _, rt := range runtimes(t, b) {
		t.Run(runtimeName(rt), func(t *testing.T) {
			s := attackSandbox(t, b, rt, 64<<20)
			hostDir := filepath.Dir(s.EtcDir)
			before := hostFiles(t, hostDir)
			script := `cd /.codepod/run &&
				mkfifo fifo &&
				echo secret > f && ln f hardlink &&
				cp /bin/busybox suid && chmod 4755 suid &&
				ln -s / rootlink &&
				ls -la`
			if out, err := asRoot(t, s, script); err != nil {
				t.Fatalf("the attack itself failed: %v: %s", err, out)
			}
			// A hard link to a host-backed file cannot cross into the tmpfs.
			if out, err := asRoot(t, s, "ln /.codepod/etc/host_key /.codepod/run/key"); err == nil {
				t.Errorf("hard link of the host key into the run directory succeeded: %s", out)
			}
			after := hostFiles(t, hostDir)
			for p := range after {
				if !before[p] {
					t.Errorf("the tenant made %s in the sandbox's host directory", p)
				}
			}
			noWritableBind(t, b, s)
			if err := agentHandshake(b, s); err != nil {
				t.Fatalf("the agent stopped answering: %v", err)
			}
		})
	}
}

// TestAttackHundredMegabytesIntoTheRunDirectoryStayInTheTmpfs: a 100 MB
// write into every path that used to be host-backed fails with ENOSPC at
// the tmpfs's size and the runner's state directory does not grow.
func TestAttackHundredMegabytesIntoTheRunDirectoryStayInTheTmpfs(t *testing.T) {
	b := backend(t, docker.Config{})
	for _, rt := range runtimes(t, b) {
		t.Run(runtimeName(rt), func(t *testing.T) {
			// Memory well above the tmpfs's 64 MiB (tmpfs pages count
			// against the container's memory), so the limit met is the
			// tmpfs's size, not the memory limit.
			s := attackSandbox(t, b, rt, 256<<20)
			hostDir := filepath.Dir(s.EtcDir)
			before := dirBytes(t, hostDir)
			out, err := asRoot(t, s, "dd if=/dev/zero of=/.codepod/run/big bs=1M count=100 2>&1; ls -l /.codepod/run/big")
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !strings.Contains(out, "No space left on device") {
				t.Errorf("a 100 MB write into %s did not fail with ENOSPC: %s", docker.RunPath, out)
			}
			size, _ := asRoot(t, s, "stat -c %s /.codepod/run/big")
			if n, err := strconv.ParseInt(strings.TrimSpace(size), 10, 64); err != nil || n > 64<<20 {
				t.Errorf("the file reached %q bytes, more than the tmpfs's 64 MiB (%v)", size, err)
			}
			if grew := dirBytes(t, hostDir) - before; grew > 0 {
				t.Errorf("the sandbox's host directory grew by %d bytes", grew)
			}
			if err := agentHandshake(b, s); err != nil {
				t.Fatalf("the agent stopped answering with its run directory full: %v", err)
			}
		})
	}
}

// TestAttackWritesToEtcAndBinFail: the host-backed paths left (etc and the
// agent binary) are read-only, and root cannot remount them. (The directory
// /.codepod/bin itself is the container's own layer, like any directory.)
func TestAttackWritesToEtcAndBinFail(t *testing.T) {
	b := backend(t, docker.Config{})
	for _, rt := range runtimes(t, b) {
		t.Run(runtimeName(rt), func(t *testing.T) {
			s := attackSandbox(t, b, rt, 64<<20)
			hostDir := filepath.Dir(s.EtcDir)
			before := hostFiles(t, hostDir)
			keyBefore, _ := os.ReadFile(filepath.Join(s.EtcDir, "host_key"))
			for _, script := range []string{
				"touch /.codepod/etc/x",
				"echo evil > /.codepod/etc/authorized_keys",
				"rm -f /.codepod/etc/host_key",
				"ln -s /var/run/docker.sock /.codepod/etc/sock",
				"cp /bin/busybox /.codepod/bin/codepod-agent",
				"echo evil >> /.codepod/bin/codepod-agent",
				"rm /.codepod/bin/codepod-agent",
				"mount -o remount,rw /.codepod/etc && touch /.codepod/etc/x",
				"mount -o remount,rw /.codepod/bin/codepod-agent",
			} {
				if out, err := asRoot(t, s, script); err == nil {
					t.Errorf("%q succeeded: %s", script, out)
				}
			}
			if after := hostFiles(t, hostDir); len(after) != len(before) {
				t.Errorf("host directory changed: %v → %v", before, after)
			}
			if key, _ := os.ReadFile(filepath.Join(s.EtcDir, "host_key")); string(key) != string(keyBefore) {
				t.Error("the host key changed")
			}
			agentBin, _ := os.ReadFile(s.AgentBinary)
			if len(agentBin) < 1<<20 {
				t.Error("the agent binary on the host was overwritten")
			}
		})
	}
}

// TestAttackNetnsDialRefusesTheRunnersOwnNamespace: were the engine to name
// a pid in the runner's own network namespace (here: the runner's own pid),
// the dial is refused rather than made to the host's loopback, where a
// listener waits for it.
func TestAttackNetnsDialRefusesTheRunnersOwnNamespace(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	ok := func() error { return nil }
	c, err := docker.DialPidNetns(context.Background(), os.Getpid(), ok, ln.Addr().String())
	if c != nil {
		c.Close()
	}
	if !errors.Is(err, docker.ErrOwnNetns) {
		t.Fatalf("dial into the runner's own namespace: %v, want a refusal", err)
	}
	if conns.Load() != 0 {
		t.Fatal("the host's loopback listener was connected")
	}
}

// TestAttackNetnsDialStopsWhenThePidIsNoLongerTheContainers: the pid is
// checked again after its namespace is open (pids are reused); a mismatch
// refuses the dial.
func TestAttackNetnsDialStopsWhenThePidIsNoLongerTheContainers(t *testing.T) {
	cmd := exec.Command("sleep", "30") // some other process's pid, in the host's namespace
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	reused := errors.New("the container restarted")
	_, err := docker.DialPidNetns(context.Background(), cmd.Process.Pid, func() error { return reused }, "127.0.0.1:1")
	if !errors.Is(err, reused) {
		t.Fatalf("dial after a failed pid check: %v", err)
	}
}

// TestAgentPortMatchesTheAgent: the runner dials the port the agent
// listens on.
func TestAgentPortMatchesTheAgent(t *testing.T) {
	if docker.AgentPort != agent.Port {
		t.Fatalf("runner dials port %d, agent listens on %d", docker.AgentPort, agent.Port)
	}
}

// BenchmarkDialAgent measures one dial as a tunnel makes it (two inspects,
// the namespace switch and a loopback connect) plus the SSH key exchange
// the runner's probe does.
func BenchmarkDialAgent(b *testing.B) {
	for _, ch := range []string{docker.ChannelNetns, docker.ChannelExec} {
		b.Run(ch, func(b *testing.B) { benchmarkDialAgent(b, ch) })
	}
}

func benchmarkDialAgent(b *testing.B, channel string) {
	be := backend(b, docker.Config{AgentChannel: channel})
	s := spec(b, "sb_bench"+randHex())
	ctx := context.Background()
	if _, err := be.CreateSandbox(ctx, s); err != nil {
		b.Fatal(err)
	}
	defer be.RemoveSandbox(context.Background(), s.SandboxID)
	for agentHandshake(be, s) != nil {
		time.Sleep(20 * time.Millisecond)
	}
	b.Run("dial+handshake", func(b *testing.B) {
		for b.Loop() {
			if err := agentHandshake(be, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The exec channel (a runner that is not root, or an engine on another
// host) reaches the agent too — under runc and gVisor — and a symlinked
// socket in the sandbox steers it nowhere either: the relay runs inside
// the container and nothing on the host is opened.
func TestAttackSymlinkedAgentSocketOverTheExecChannel(t *testing.T) {
	b := backend(t, docker.Config{AgentChannel: docker.ChannelExec})
	fake, conns := fakeDockerSocket(t)
	for _, rt := range runtimes(t, b) {
		t.Run(runtimeName(rt), func(t *testing.T) {
			s := attackSandbox(t, b, rt, 64<<20)
			if out, err := asRoot(t, s, "ln -s "+fake+" /.codepod/run/x && mv -f /.codepod/run/x /.codepod/run/agent.sock"); err != nil {
				t.Fatalf("the attack itself failed: %v: %s", err, out)
			}
			for range 3 {
				if err := agentHandshake(b, s); err != nil {
					t.Fatalf("the exec channel does not reach the agent: %v", err)
				}
			}
			c := login(t, b, s)
			if out, err := run(t, c, "echo through-the-relay"); err != nil || out != "through-the-relay\n" {
				t.Fatalf("a session over the exec channel: %q, %v", out, err)
			}
			if n := conns.Load(); n != 0 {
				t.Fatalf("the host's stand-in Docker socket got %d connections", n)
			}
		})
	}
}

func TestChooseChannel(t *testing.T) {
	for _, tc := range []struct{ want, host, got, err string }{
		{docker.ChannelExec, "unix:///var/run/docker.sock", docker.ChannelExec, ""},
		{docker.ChannelNetns, "unix:///var/run/docker.sock", docker.ChannelNetns, ""},
		{docker.ChannelNetns, "tcp://10.0.0.5:2376", "", "needs the engine on this host"},
		{"", "tcp://10.0.0.5:2376", docker.ChannelExec, ""}, // another host's pids are not ours
		{"", "ssh://builder", docker.ChannelExec, ""},
		{"vsock", "", "", "use netns or exec"},
	} {
		got, err := docker.ChooseChannel(tc.want, tc.host)
		if got != tc.got || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("chooseChannel(%q, %q) = %q, %v; want %q, %q", tc.want, tc.host, got, err, tc.got, tc.err)
		}
	}
}

// TestAttackFloodingTheAgentsOutputStaysWithinTheLogLimit: what the agent
// (PID 1) writes to its output lands in the engine's log of the container,
// a file on the runner's host. Root in the sandbox writes 40 MB straight
// into it (the agent's stdout), as a tenant could by the agent's own log
// lines over many sessions; the host keeps at most docker.LogMaxBytes of
// it, and the agent still answers.
func TestAttackFloodingTheAgentsOutputStaysWithinTheLogLimit(t *testing.T) {
	b := backend(t, docker.Config{})
	for _, rt := range runtimes(t, b) {
		t.Run(runtimeName(rt), func(t *testing.T) {
			s := attackSandbox(t, b, rt, 256<<20)
			c := login(t, b, s)
			// A marker after the flood: once the host's log has it, the
			// engine has written all of the 40 MB it was going to keep.
			marker := "flood-done-" + randHex()
			out, err := run(t, c, "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 40000000 > /proc/1/fd/1 && echo "+marker+" > /proc/1/fd/1 && echo wrote")
			if err != nil || !strings.Contains(out, "wrote") {
				t.Fatalf("the write into the agent's output failed, so this test proves nothing: %v: %s", err, out)
			}
			insp, err := b.Client().ContainerInspect(context.Background(), docker.ContainerName(s.SandboxID))
			if err != nil {
				t.Fatal(err)
			}
			if insp.LogPath == "" {
				t.Fatalf("the container has no log file (log driver %q): nothing to bound", insp.HostConfig.LogConfig.Type)
			}
			for deadline := time.Now().Add(time.Minute); ; {
				if b, _ := os.ReadFile(insp.LogPath); bytes.Contains(b, []byte(marker)) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the engine's log %s never got the line written after the flood", insp.LogPath)
				}
				time.Sleep(100 * time.Millisecond)
			}
			var size int64
			files, _ := filepath.Glob(insp.LogPath + "*")
			for _, f := range files {
				if fi, err := os.Stat(f); err == nil {
					size += fi.Size()
				}
			}
			t.Logf("40 MB written to the agent's output: %d bytes of log on the host (limit %d)", size, docker.LogMaxBytes)
			if size > docker.LogMaxBytes+1<<20 {
				t.Errorf("the container's log holds %d bytes on the host, over the limit of %d", size, docker.LogMaxBytes)
			}
			if err := agentHandshake(b, s); err != nil {
				t.Fatalf("the agent stopped answering after the flood: %v", err)
			}
		})
	}
}
