package runner_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/netpolicy"
	"github.com/codepod-dev/codepod/wire"
)

// world is the "outside world" a network policy test builds on this
// machine: a stand-in internet (a bridge whose range the test declares
// public), a private-range server, a stand-in metadata server at
// 169.254.169.254 and a listener on the runner host's 0.0.0.0.
type world struct {
	publicNet netip.Prefix
	public    string // HTTP on :80 and :8080
	public2   string // a second public server, HTTP on :80
	private   string // HTTP on :80, in a private range
	metadata  string // 169.254.169.254, HTTP on :80
	hostPort  int    // the runner host's listener on 0.0.0.0
	hostHits  atomic.Int64
}

func docker1(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// testNet makes a bridge with subnet and returns its name.
func testNet(tb testing.TB, subnet string) string {
	name := randID("cptest-net-")
	docker1(tb, "network", "create", "--driver", "bridge", "--subnet", subnet, name)
	tb.Cleanup(func() { exec.Command("docker", "network", "rm", name).Run() })
	return name
}

// httpServer runs busybox httpd serving "body" on ports at ip of net.
func httpServer(tb testing.TB, net, ip, body string, ports ...int) {
	name := randID("cptest-srv-")
	script := "mkdir -p /www && echo " + body + " > /www/index.html"
	for _, p := range ports {
		script += fmt.Sprintf(" && httpd -p %d -h /www", p)
	}
	docker1(tb, "run", "-d", "--name", name, "--network", net, "--ip", ip, codepod.TinyImage, "sh", "-c", script+" && exec sleep 3600")
	tb.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
}

func newWorld(t *testing.T) *world {
	t.Helper()
	n := rand.IntN(200) + 20
	w := &world{publicNet: netip.MustParsePrefix(fmt.Sprintf("10.213.%d.0/24", n))}
	pub := testNet(t, w.publicNet.String())
	w.public, w.public2 = fmt.Sprintf("10.213.%d.10", n), fmt.Sprintf("10.213.%d.11", n)
	httpServer(t, pub, w.public, "public", 80, 8080)
	httpServer(t, pub, w.public2, "public2", 80)
	w.private = fmt.Sprintf("10.214.%d.10", n)
	httpServer(t, testNet(t, fmt.Sprintf("10.214.%d.0/24", n)), w.private, "private", 80)
	w.metadata = "169.254.169.254"
	httpServer(t, testNet(t, "169.254.169.0/24"), w.metadata, "metadata", 80)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	w.hostPort = ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.hostHits.Add(1)
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nhost\n"))
			c.Close()
		}
	}()
	return w
}

// policyRunner is a runner whose firewall treats the world's internet as
// public.
func policyRunner(t *testing.T, w *world) (*runner.Runner, *docker.Backend, *netpolicy.Firewall) {
	t.Helper()
	testenv.Docker(t)
	b := dockerBackend(t)
	fw, err := netpolicy.New(netpolicy.Config{Bridge: b.PolicyBridge(), Public: []netip.Prefix{w.publicNet}})
	if err != nil {
		t.Fatal(err)
	}
	return handleRunner(t, b, func(c *runner.Config) { c.Firewall = fw }), b, fw
}

// create runs p's create job; the sandbox's rules go when the test ends
// (its container goes with handleRunner's cleanup).
func create(t *testing.T, r *runner.Runner, fw *netpolicy.Firewall, p *wire.SandboxPayload) {
	t.Helper()
	t.Cleanup(func() { fw.Remove(context.Background(), p.ID) })
	mustHandle(t, r, job(wire.KindCreate, p))
}

// fetch GETs url (http://host[:port]/) from inside the sandbox with nc:
// the body, or "" when refused.
func fetch(t *testing.T, sandboxID, url string) string {
	t.Helper()
	hostPort := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	host, port, ok := strings.Cut(hostPort, ":")
	if !ok {
		port = "80"
	}
	script := fmt.Sprintf(`printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' | nc -w 5 %s %s`, host, host, port)
	start := time.Now()
	out, err := dockerExec(t, docker.ContainerName(sandboxID), "sh", "-c", script)
	t.Logf("GET %s from %s: %v in %s", url, sandboxID, err, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return ""
	}
	_, body, _ := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n")
	return strings.TrimSpace(body)
}

// gateway is the policy network's gateway address (the runner host).
func gateway(t *testing.T, b *docker.Backend) string {
	return docker1(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", docker.DefaultPolicyNetwork)
}

func policyPayload(mode string, allow, deny []string) *wire.SandboxPayload {
	p := payload(randID("sb_np_"))
	p.Network = codepod.NetworkBridge
	p.NetworkPolicy = &wire.PolicyPayload{Mode: mode, Allow: allow, Deny: deny, Version: 1}
	return p
}

// reach reports, for each target URL, whether the sandbox reached it.
func expectReach(t *testing.T, sandboxID string, want map[string]string) {
	t.Helper()
	for url, body := range want {
		if got := fetch(t, sandboxID, url); got != body {
			t.Errorf("sandbox %s: GET %s = %q, want %q", sandboxID, url, got, body)
		}
	}
}

func TestNetworkPolicyNoneAndInternet(t *testing.T) {
	w := newWorld(t)
	r, b, fw := policyRunner(t, w)

	// Baseline: a plain bridge sandbox reaches the runner host's listener,
	// so the refusals below are the policy's doing.
	plain := payload(randID("sb_plain_"))
	plain.Network = codepod.NetworkBridge
	mustHandle(t, r, job(wire.KindCreate, plain))
	plainGW := docker1(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", docker.DefaultNetwork)
	if got := fetch(t, plain.ID, fmt.Sprintf("http://%s:%d/", plainGW, w.hostPort)); got != "host" {
		t.Fatalf("baseline: a plain bridge sandbox got %q from the host listener, want host", got)
	}

	none := policyPayload(codepod.PolicyNone, nil, nil)
	create(t, r, fw, none)
	inet := policyPayload(codepod.PolicyInternet, nil, nil)
	create(t, r, fw, inet)
	hits := w.hostHits.Load()
	gw := gateway(t, b)
	hostURL := fmt.Sprintf("http://%s:%d/", gw, w.hostPort)
	expectReach(t, none.ID, map[string]string{
		"http://" + w.public + "/": "", "http://" + w.private + "/": "", "http://" + w.metadata + "/": "", hostURL: "",
	})
	expectReach(t, inet.ID, map[string]string{
		"http://" + w.public + "/": "public", "http://" + w.public + ":8080/": "public",
		"http://" + w.private + "/": "", "http://" + w.metadata + "/": "", hostURL: "",
	})
	if n := w.hostHits.Load() - hits; n != 0 {
		t.Errorf("the host listener accepted %d connections from policy sandboxes", n)
	}

	// The net log names what was refused.
	denied, err := fw.Denied(context.Background(), inet.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"private 10.0.0.0/8": false, "private 169.254.0.0/16": false, "host the runner host": false}
	for _, d := range denied {
		k := d.Reason + " " + d.Destination
		if _, ok := want[k]; ok && d.Packets > 0 {
			want[k] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("net log %+v lacks %q", denied, k)
		}
	}
}

func TestNetworkPolicyAllowListsAndChange(t *testing.T) {
	w := newWorld(t)
	r, b, fw := policyRunner(t, w)
	privNet := netip.MustParsePrefix(w.private + "/24").Masked().String()
	p := policyPayload(codepod.PolicyAllow, []string{privNet, w.public + ":8080"}, nil)
	create(t, r, fw, p)
	hostURL := fmt.Sprintf("http://%s:%d/", gateway(t, b), w.hostPort)
	expectReach(t, p.ID, map[string]string{
		"http://" + w.private + "/":     "private", // by CIDR, although private
		"http://" + w.public + ":8080/": "public",  // by host:port
		"http://" + w.public + "/":      "",        // another port
		"http://" + w.public2 + "/":     "", "http://" + w.metadata + "/": "", hostURL: "",
	})

	// Changed while it runs: no restart, the container stays the same.
	before := inspect(t, b, p.ID).State.StartedAt
	p2 := *p
	p2.NetworkPolicy = &wire.PolicyPayload{Mode: codepod.PolicyInternet, Deny: []string{w.public2}, Version: 2}
	mustHandle(t, r, job(wire.KindNetwork, &p2))
	expectReach(t, p.ID, map[string]string{
		"http://" + w.public + "/": "public", "http://" + w.public2 + "/": "", "http://" + w.private + "/": "",
	})
	// A late delivery of an older policy changes nothing.
	mustHandle(t, r, job(wire.KindNetwork, p))
	expectReach(t, p.ID, map[string]string{"http://" + w.public + "/": "public", "http://" + w.private + "/": ""})
	if after := inspect(t, b, p.ID).State.StartedAt; after != before {
		t.Errorf("the container restarted (started %s, then %s)", before, after)
	}

	// Stopped and started again: the policy holds (its address may change).
	mustHandle(t, r, job(wire.KindStop, &p2))
	mustHandle(t, r, job(wire.KindStart, &p2))
	expectReach(t, p.ID, map[string]string{"http://" + w.public + "/": "public", "http://" + w.public2 + "/": ""})

	// Deleted: nothing of its rules is left.
	mustHandle(t, r, job(wire.KindDelete, &p2))
	rules, err := exec.Command("iptables-save", "-t", "filter").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{netpolicy.Chain(p.ID), "codepod:" + p.ID} {
		if strings.Contains(string(rules), s) {
			t.Errorf("iptables still holds %q after the delete", s)
		}
	}
}

func TestNetworkPolicyHostileTenant(t *testing.T) {
	w := newWorld(t)
	r, _, fw := policyRunner(t, w)
	p := policyPayload(codepod.PolicyAllow, []string{w.public + ":8080"}, nil)
	create(t, r, fw, p)
	name := docker.ContainerName(p.ID)
	// Root in the sandbox holds no NET_ADMIN: it cannot change addresses,
	// routes or links, let alone the host's rules.
	for _, argv := range [][]string{
		{"ip", "addr", "add", w.public2 + "/32", "dev", "eth0"},
		{"ip", "route", "add", w.public2 + "/32", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "down"},
	} {
		if out, err := dockerExec(t, name, argv...); err == nil || !strings.Contains(out, "not permitted") {
			t.Errorf("%s inside the sandbox: %v %s; want operation not permitted", strings.Join(argv, " "), err, out)
		}
	}
	// Its resolver configuration is its own, and changes nothing.
	mustExec(t, name, "sh", "-c", "echo nameserver "+w.public2+" > /etc/resolv.conf")
	expectReach(t, p.ID, map[string]string{"http://" + w.public + ":8080/": "public", "http://" + w.public2 + "/": ""})
}

func TestNetworkPolicyGVisor(t *testing.T) {
	w := newWorld(t)
	r, b, fw := policyRunner(t, w)
	if rts, _ := b.Runtimes(context.Background()); !strings.Contains(strings.Join(rts, ","), codepod.RuntimeGVisor) {
		testenv.Missing(t, "gVisor (runsc)", "register runsc with the engine (see ENVIRONMENT)")
	}
	p := policyPayload(codepod.PolicyInternet, nil, nil)
	p.Runtime = codepod.RuntimeGVisor
	p.MemoryBytes = 256 << 20
	create(t, r, fw, p)
	if out := mustExec(t, docker.ContainerName(p.ID), "uname", "-r"); !strings.HasPrefix(out, "4.4.0") {
		t.Fatalf("not under gVisor: uname -r = %s", out)
	}
	expectReach(t, p.ID, map[string]string{
		"http://" + w.public + "/": "public", "http://" + w.private + "/": "", "http://" + w.metadata + "/": "",
		fmt.Sprintf("http://%s:%d/", gateway(t, b), w.hostPort): "",
	})
}
