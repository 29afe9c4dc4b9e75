package runner_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/wire"
)

// capBits are the kernel's capability numbers (linux/capability.h), kept
// here independently of the code under test.
var capBits = map[string]uint{
	"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
	"SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18, "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31,
}

// documentedCaps is the set docs/isolation.md promises.
var documentedCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "AUDIT_WRITE"}

func TestLimitsAndPrivilegesSeenFromInside(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	p.CPU, p.MemoryBytes, p.PidsLimit = 0.5, 96<<20, 123
	mustHandle(t, r, job(wire.KindCreate, p))
	name := docker.ContainerName(p.ID)

	read := func(path string) string { return strings.TrimSpace(mustExec(t, name, "cat", path)) }
	checks := map[string]string{ // cgroup v1, as this project's hosts run it
		"/sys/fs/cgroup/memory/memory.limit_in_bytes":       strconv.Itoa(96 << 20),
		"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes": strconv.Itoa(96 << 20),
		"/sys/fs/cgroup/pids/pids.max":                      "123",
		"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":               "50000",
		"/sys/fs/cgroup/cpu/cpu.cfs_period_us":              "100000",
	}
	for path, want := range checks {
		if path == "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes" {
			if _, err := dockerExec(t, name, "test", "-e", path); err != nil {
				continue // swap accounting is off on this kernel
			}
		}
		if got := read(path); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}

	status := mustExec(t, name, "cat", "/proc/1/status")
	var want uint64
	for _, c := range documentedCaps {
		want |= 1 << capBits[c]
	}
	for _, field := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if got := statusField(status, field); got != fmt.Sprintf("%016x", want) {
			t.Errorf("%s = %s, want %016x (the documented set)", field, got, want)
		}
	}
	if got := statusField(status, "NoNewPrivs"); got != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", got)
	}

	// No Docker socket, the agent and its configuration are read-only.
	for _, path := range []string{"/var/run/docker.sock", "/run/docker.sock"} {
		if _, err := dockerExec(t, name, "test", "-e", path); err == nil {
			t.Errorf("%s exists inside the sandbox", path)
		}
	}
	for _, path := range []string{docker.AgentPath, docker.EtcPath + "/ssh_secret", docker.EtcPath + "/new"} {
		if out, err := dockerExec(t, name, "sh", "-c", "echo x >> "+path); err == nil {
			t.Errorf("wrote %s inside the sandbox: %s", path, out)
		}
	}
	// Not allowed to make device nodes (MKNOD dropped).
	if _, err := dockerExec(t, name, "mknod", "/tmp/null2", "c", "1", "3"); err == nil {
		t.Error("mknod worked inside the sandbox")
	}

	host := inspect(t, b, p.ID).HostConfig
	if host.Privileged || host.Init == nil || *host.Init || host.RestartPolicy.Name != "no" || host.ReadonlyRootfs {
		t.Errorf("host config: privileged %v, init %v, restart %q, read-only rootfs %v", host.Privileged, host.Init, host.RestartPolicy.Name, host.ReadonlyRootfs)
	}
	if host.NanoCPUs != 5e8 || host.Memory != 96<<20 || host.MemorySwap != 96<<20 || *host.PidsLimit != 123 {
		t.Errorf("resources: %+v", host.Resources)
	}
}

func statusField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestNetworkNoneHasOnlyLoopback(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	p := payload(randID("sb_"))
	mustHandle(t, r, job(wire.KindCreate, p))
	name := docker.ContainerName(p.ID)

	if ifs := interfaces(mustExec(t, name, "cat", "/proc/net/dev")); strings.Join(ifs, ",") != "lo" {
		t.Errorf("interfaces %v, want only lo", ifs)
	}
	routes := strings.Split(strings.TrimSpace(mustExec(t, name, "cat", "/proc/net/route")), "\n")
	if len(routes) != 1 { // the header line only
		t.Errorf("routes in a network-none sandbox: %q", routes)
	}

	// A listener in another container on a bridge the test made: a
	// container on that bridge reaches it, the sandbox does not.
	ip, bridge := startListener(t, b)
	if !reaches(t, runPlain(t, b, bridge, "sleep", "60"), ip, "codepod-listener") {
		t.Fatal("a container on the test bridge cannot reach the listener (the check is broken)")
	}
	if out, _ := dockerExec(t, name, httpGet(ip)...); strings.Contains(out, "codepod-listener") {
		t.Fatalf("the network-none sandbox reached %s: %s", ip, out)
	}
}

func TestBridgeSandboxesCannotReachEachOther(t *testing.T) {
	b := dockerBackend(t)
	r := handleRunner(t, b)
	a, c := payload(randID("sb_")), payload(randID("sb_"))
	a.Network, c.Network = codepod.NetworkBridge, codepod.NetworkBridge
	mustHandle(t, r, job(wire.KindCreate, a))
	mustHandle(t, r, job(wire.KindCreate, c))

	net := inspect(t, b, a.ID).NetworkSettings.Networks[docker.DefaultNetwork]
	if net == nil || net.IPAddress == "" {
		t.Fatalf("bridge sandbox is not on %s: %+v", docker.DefaultNetwork, inspect(t, b, a.ID).NetworkSettings.Networks)
	}
	an := docker.ContainerName(a.ID)
	if ifs := interfaces(mustExec(t, an, "cat", "/proc/net/dev")); len(ifs) != 2 {
		t.Errorf("bridge sandbox interfaces %v, want lo and one more", ifs)
	}
	// Serve from sandbox a; sandbox a itself reaches it, sandbox c does not.
	mustExec(t, an, "sh", "-c", "mkdir -p /tmp/www && echo codepod-a > /tmp/www/index.html && httpd -p 8080 -h /tmp/www")
	if !reaches(t, an, net.IPAddress, "codepod-a") {
		t.Fatal("sandbox a cannot reach its own server (the check is broken)")
	}
	if out, _ := dockerExec(t, docker.ContainerName(c.ID), httpGet(net.IPAddress)...); strings.Contains(out, "codepod-a") {
		t.Fatalf("sandbox c reached sandbox a across the bridge: %s", out)
	}
}

// httpGet is a command line that fetches http://ip:8080/ with busybox nc
// (busybox's wget crashes with -T on this build), giving up after 3s.
func httpGet(ip string) []string {
	return []string{"sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 ` + ip + ` 8080`}
}

// reaches reports whether container gets marker from http://ip:8080/,
// trying for a few seconds while the server starts.
func reaches(t *testing.T, container, ip, marker string) bool {
	t.Helper()
	for range 20 {
		if out, err := dockerExec(t, container, httpGet(ip)...); err == nil && strings.Contains(out, marker) {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

func interfaces(procNetDev string) []string {
	var out []string
	for _, line := range strings.Split(procNetDev, "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out = append(out, name)
		}
	}
	return out
}

// testBridge makes a bridge network for the test and returns its name.
func testBridge(t *testing.T, b *docker.Backend) string {
	t.Helper()
	name := randID("codepod-test-net-")
	ctx := context.Background()
	if _, err := b.Client().NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Client().NetworkRemove(context.Background(), name) })
	return name
}

// startListener runs an HTTP server in a plain container on a bridge the
// test makes, and returns its address and the bridge.
func startListener(t *testing.T, b *docker.Backend) (ip, bridge string) {
	t.Helper()
	bridge = testBridge(t, b)
	id := runPlain(t, b, bridge, "sh", "-c", "mkdir -p /tmp/www && echo codepod-listener > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www")
	c, err := b.Client().ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.NetworkSettings.Networks[bridge].IPAddress, bridge
}

func runPlain(t *testing.T, b *docker.Backend, net string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := b.Client().ContainerCreate(ctx, &container.Config{Image: codepod.TinyImage, Cmd: argv},
		&container.HostConfig{NetworkMode: container.NetworkMode(net)}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Client().ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	if err := b.Client().ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return resp.ID
}
