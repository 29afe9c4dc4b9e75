package runner_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/runner"
	"github.com/codepod-dev/codepod/runner/docker"
	"github.com/codepod-dev/codepod/runner/netpolicy"
)

// nameWorld adds names to a world: HTTP and HTTPS servers the test runs
// on the runner host's address on the stand-in internet (answering with
// the Host / SNI they saw), and a DNS server the test runs on loopback,
// which the runner's egress forwards allowed names to.
type nameWorld struct {
	*world
	web      string // the test's HTTP (:80) and HTTPS (:443) servers
	upstream string // the test's DNS server
}

func newNameWorld(t *testing.T) *nameWorld {
	t.Helper()
	// Only the stand-in internet of newWorld: the metadata range is one
	// per engine, and another test run may hold it.
	n := mrand.IntN(200) + 20
	w := &nameWorld{world: &world{publicNet: netip.MustParsePrefix(fmt.Sprintf("10.216.%d.0/24", n))}}
	pub := testNet(t, w.publicNet.String())
	w.public, w.public2 = fmt.Sprintf("10.216.%d.10", n), fmt.Sprintf("10.216.%d.11", n)
	httpServer(t, pub, w.public, "public", 80, 8080)
	httpServer(t, pub, w.public2, "public2", 80)
	w.web = w.publicNet.Addr().Next().String() // the bridge's gateway: this host
	mux := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			fmt.Fprintf(rw, "tls %s\n", r.TLS.ServerName)
			return
		}
		fmt.Fprintf(rw, "hello %s\n", r.Host)
	})
	hl, err := net.Listen("tcp4", w.web+":80")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp4", w.web+":443")
	if err != nil {
		t.Fatal(err)
	}
	hs, ts := &http.Server{Handler: mux}, &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}}
	go hs.Serve(hl)
	go ts.ServeTLS(tl, "", "")
	t.Cleanup(func() { hs.Close(); ts.Close() })

	zone := map[string]string{
		"allowed.test.": w.web, "a.wild.test.": w.web, "wild.test.": w.web,
		"denied.test.": w.public2, "loop.test.": "127.0.0.1",
	}
	h := dns.HandlerFunc(func(rw dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		ip, ok := zone[strings.ToLower(q.Question[0].Name)]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Question[0].Qtype == dns.TypeA:
			rr, _ := dns.NewRR(q.Question[0].Name + " 5 IN A " + ip)
			m.Answer = append(m.Answer, rr)
		}
		rw.WriteMsg(m)
	})
	// UDP and TCP on one port: a port free for UDP may be taken for TCP.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ln == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		w.upstream = pc.LocalAddr().String()
		if ln, err = net.Listen("tcp4", w.upstream); err != nil {
			pc.Close()
			if try == 20 {
				t.Fatal(err)
			}
		}
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return w
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		DNSNames:  []string{"allowed.test", "a.wild.test", "wild.test", "denied.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// raw sends "GET / HTTP/1.0" with Host host to addr:port from inside the
// sandbox: the body, or "" when nothing answered.
func raw(t *testing.T, sandboxID, addr, port, host string) string {
	t.Helper()
	script := fmt.Sprintf(`printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' | nc -w 5 %s %s`, host, addr, port)
	out, _ := dockerExec(t, docker.ContainerName(sandboxID), "sh", "-c", script)
	_, body, _ := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n")
	return strings.TrimSpace(body)
}

func TestNetworkPolicyDomains(t *testing.T) {
	w := newNameWorld(t)
	b := dockerBackend(t)
	fw, err := netpolicy.New(netpolicy.Config{Bridge: b.PolicyBridge(), Public: []netip.Prefix{w.publicNet}, Upstream: w.upstream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	r := handleRunner(t, b, func(c *runner.Config) { c.Firewall = fw })
	p := policyPayload(codepod.PolicyAllow, []string{"allowed.test", "*.wild.test", w.public + ":80", "loop.test"}, nil)
	create(t, r, fw, p)
	name := docker.ContainerName(p.ID)
	// An address on the list bypasses the proxy: no Host needed.
	if got := raw(t, p.ID, w.public, "80", ""); got != "public" {
		t.Errorf("allowed address %s:80 without Host: %q, want public", w.public, got)
	}
	// An allowed name resolving to loopback is not dialled by the runner.
	if got := raw(t, p.ID, w.web, "80", "loop.test"); got != "" {
		t.Errorf("loop.test (127.0.0.1) through the proxy: %q, want refused", got)
	}

	// Names on the list resolve, and HTTP (Host) and HTTPS (SNI) reach them.
	if out := mustExec(t, name, "nslookup", "allowed.test"); !strings.Contains(out, w.web) {
		t.Errorf("nslookup allowed.test:\n%s", out)
	}
	expectReach(t, p.ID, map[string]string{
		"http://allowed.test/": "hello allowed.test",
		"http://a.wild.test/":  "hello a.wild.test",
		// *.wild.test is the names below wild.test, not wild.test itself.
		"http://wild.test/": "",
		// Not on the list: no answer from DNS.
		"http://denied.test/": "",
	})
	tlsget := func(addr, sni string) string {
		out, err := dockerExec(t, name, "/tmp/tlsget", addr, sni)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(out)
	}
	copyTLSGet(t, name)
	for host, want := range map[string]string{"allowed.test": "tls allowed.test", "a.wild.test": "tls a.wild.test", "denied.test": "", "wild.test": ""} {
		if got := tlsget(host+":443", host); got != want {
			t.Errorf("https://%s/ from the sandbox = %q, want %q", host, got, want)
		}
	}
	// SNI not on the list at an address that serves it: refused.
	if got := tlsget(w.web+":443", "wild.test"); got != "" {
		t.Errorf("SNI wild.test at %s: %q, want refused", w.web, got)
	}
	// An allowed SNI sent to denied.test's address reaches allowed.test's.
	if got := tlsget(w.public2+":443", "allowed.test"); got != "tls allowed.test" {
		t.Errorf("SNI allowed.test at %s: %q, want the allowed server", w.public2, got)
	}
	for _, n := range []string{"denied.test", "wild.test"} {
		if out, err := dockerExec(t, name, "nslookup", n); err == nil && strings.Contains(out, "Address") && strings.Contains(out, w.public2) {
			t.Errorf("nslookup %s answered:\n%s", n, out)
		}
	}
	// Host not on the list, at an address that serves it: 403 naming the policy.
	if got := raw(t, p.ID, w.web, "80", "wild.test"); !strings.Contains(got, "not on this sandbox's network allow list") {
		t.Errorf("Host wild.test at %s: %q, want a 403 naming the policy", w.web, got)
	}
	// Spoofing: an allowed Host sent to denied.test's address reaches the
	// allowed name's server (the runner resolves it), never denied.test's.
	if got := raw(t, p.ID, w.public2, "80", "allowed.test"); got != "hello allowed.test" {
		t.Errorf("Host allowed.test at denied.test's address %s: %q, want the allowed server", w.public2, got)
	}
	// Other ports than 80/443 of an allowed name's address stay refused.
	if got := raw(t, p.ID, w.public, "8080", "allowed.test"); got != "" {
		t.Errorf("%s:8080: %q, want refused", w.public, got)
	}

	// A hostile root tenant: another resolver (its own or by address)
	// still gets only allowed names; the egress's own ports are closed.
	mustExec(t, name, "sh", "-c", "echo nameserver "+w.public2+" > /etc/resolv.conf")
	if out := mustExec(t, name, "nslookup", "allowed.test"); !strings.Contains(out, w.web) {
		t.Errorf("nslookup allowed.test with resolv.conf rewritten:\n%s", out)
	}
	if out, _ := dockerExec(t, name, "nslookup", "denied.test", w.public); strings.Contains(out, w.public2) {
		t.Errorf("nslookup denied.test %s answered:\n%s", w.public, out)
	}
	nat, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	ports := regexp.MustCompile(`codepod:`+regexp.QuoteMeta(p.ID)+`.*--to-destination ([0-9.]+):([0-9]+)`).FindAllStringSubmatch(string(nat), -1)
	if len(ports) != 4 {
		t.Fatalf("nat rules of the sandbox: %d, want 4 (DNS udp/tcp, 80, 443):\n%s", len(ports), nat)
	}
	for _, m := range ports {
		if got := raw(t, p.ID, m[1], m[2], "allowed.test"); got != "" {
			t.Errorf("the egress's own port %s:%s answered the sandbox: %q", m[1], m[2], got)
		}
	}

	// The net log names what was refused.
	log, err := fw.Denied(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range log {
		if d.Reason == netpolicy.ReasonDomain {
			seen[d.Name] = true
			if d.Time == nil || d.Port == 0 {
				t.Errorf("refusal without time or port: %+v", d)
			}
		}
	}
	for _, n := range []string{"denied.test", "wild.test", "loop.test"} {
		if !seen[n] {
			t.Errorf("net log does not name %s: %+v", n, log)
		}
	}
	t.Logf("net log: %+v", log)

	// Without domain entries the sandbox's DNS and 80/443 are its own again:
	// nothing resolves, nothing is proxied.
	p.NetworkPolicy.Allow, p.NetworkPolicy.Version = []string{w.public + ":8080"}, 2
	addr, err := b.SandboxAddr(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Apply(context.Background(), p.ID, addr, p.NetworkPolicy); err != nil {
		t.Fatal(err)
	}
	if got := raw(t, p.ID, w.public2, "80", "allowed.test"); got != "" {
		t.Errorf("after dropping the domains, %s:80 = %q, want refused", w.public2, got)
	}
}

// copyTLSGet builds testdata/tlsget (static) and copies it into the
// container as /tmp/tlsget.
func copyTLSGet(t *testing.T, container string) {
	t.Helper()
	bin := t.TempDir() + "/tlsget"
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/tlsget")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tlsget: %v\n%s", err, out)
	}
	docker1(t, "cp", bin, container+":/tmp/tlsget")
}

func TestNetworkPolicyDomainsGVisor(t *testing.T) {
	w := newNameWorld(t)
	b := dockerBackend(t)
	if rts, _ := b.Runtimes(context.Background()); !strings.Contains(strings.Join(rts, ","), codepod.RuntimeGVisor) {
		testenv.Missing(t, "gVisor (runsc)", "register runsc with the engine (see ENVIRONMENT)")
	}
	fw, err := netpolicy.New(netpolicy.Config{Bridge: b.PolicyBridge(), Public: []netip.Prefix{w.publicNet}, Upstream: w.upstream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	r := handleRunner(t, b, func(c *runner.Config) { c.Firewall = fw })
	p := policyPayload(codepod.PolicyAllow, []string{"allowed.test"}, nil)
	p.Runtime = codepod.RuntimeGVisor
	p.MemoryBytes = 256 << 20
	create(t, r, fw, p)
	if out := mustExec(t, docker.ContainerName(p.ID), "uname", "-r"); !strings.HasPrefix(out, "4.4.0") {
		t.Fatalf("not under gVisor: uname -r = %s", out)
	}
	expectReach(t, p.ID, map[string]string{"http://allowed.test/": "hello allowed.test", "http://denied.test/": ""})
	if got := raw(t, p.ID, w.public2, "80", "allowed.test"); got != "hello allowed.test" {
		t.Errorf("Host allowed.test at %s under gVisor: %q, want the allowed server", w.public2, got)
	}
}

// TestNetworkPolicyDomainDenyUnderInternet: names on the deny list of an
// internet policy get no DNS answer and no HTTP/HTTPS through the egress,
// every other public name and address still works, and the egress never
// dials a private address for a name under internet.
func TestNetworkPolicyDomainDenyUnderInternet(t *testing.T) {
	w := newNameWorld(t)
	b := dockerBackend(t)
	fw, err := netpolicy.New(netpolicy.Config{Bridge: b.PolicyBridge(), Public: []netip.Prefix{w.publicNet}, Upstream: w.upstream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	r := handleRunner(t, b, func(c *runner.Config) { c.Firewall = fw })
	p := policyPayload(codepod.PolicyInternet, nil, []string{"denied.test", "*.wild.test"})
	create(t, r, fw, p)
	name := docker.ContainerName(p.ID)
	expectReach(t, p.ID, map[string]string{
		"http://allowed.test/": "hello allowed.test", // any public name
		"http://wild.test/":    "hello wild.test",    // *.wild.test is the names below it
		"http://denied.test/":  "",                   // no DNS answer
		"http://a.wild.test/":  "",
	})
	// By address, with no name: the address decides, as under internet.
	if got := raw(t, p.ID, w.public, "80", ""); got != "public" {
		t.Errorf("public address %s:80 with no Host: %q, want public", w.public, got)
	}
	// A denied Host at an address that serves it: 403 naming the deny list.
	if got := raw(t, p.ID, w.web, "80", "a.wild.test"); !strings.Contains(got, "on this sandbox's network deny list") {
		t.Errorf("Host a.wild.test at %s: %q, want a 403 naming the deny list", w.web, got)
	}
	copyTLSGet(t, name)
	for host, want := range map[string]string{"allowed.test": "tls allowed.test", "wild.test": "tls wild.test", "denied.test": ""} {
		out, err := dockerExec(t, name, "/tmp/tlsget", w.web+":443", host)
		if err != nil {
			out = ""
		}
		if got := strings.TrimSpace(out); got != want {
			t.Errorf("SNI %s at %s: %q, want %q", host, w.web, got, want)
		}
	}
	// loop.test resolves to 127.0.0.1: the runner does not dial it for the
	// sandbox (its own loopback), whatever the mode.
	if got := raw(t, p.ID, w.web, "80", "loop.test"); got != "" {
		t.Errorf("loop.test through the egress: %q, want refused", got)
	}
	log, err := fw.Denied(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range log {
		seen[d.Name] = true
	}
	for _, n := range []string{"denied.test", "a.wild.test", "loop.test"} {
		if !seen[n] {
			t.Errorf("net log does not name %s: %+v", n, log)
		}
	}
}

// TestNetworkPolicyDomainsSurviveRunnerRestart: the egress proxy and DNS
// responder live in the runner process; a restarted runner applies the
// policies of the sandboxes that still run before it takes jobs, so a
// domain allow-list works again without the server re-sending it.
func TestNetworkPolicyDomainsSurviveRunnerRestart(t *testing.T) {
	w := newNameWorld(t)
	b := dockerBackend(t)
	newFW := func() *netpolicy.Firewall {
		fw, err := netpolicy.New(netpolicy.Config{Bridge: b.PolicyBridge(), Public: []netip.Prefix{w.publicNet}, Upstream: w.upstream})
		if err != nil {
			t.Fatal(err)
		}
		return fw
	}
	dir := t.TempDir()
	id := randID("rn_test_")
	if err := runner.SaveState(dir, &runner.State{Server: "http://127.0.0.1:9", RunnerID: id, Credential: "cpr_test"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeRunnerContainers(t, b, id) })
	newRunner := func(fw *netpolicy.Firewall) *runner.Runner {
		r, err := runner.New(runner.Config{Server: "http://127.0.0.1:9", StateDir: dir, AgentBinary: testenv.AgentBinary(t),
			Backend: b, Firewall: fw, StopTimeout: 2 * time.Second, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	fw1 := newFW()
	p := policyPayload(codepod.PolicyAllow, []string{"allowed.test"}, nil)
	create(t, newRunner(fw1), fw1, p)
	expectReach(t, p.ID, map[string]string{"http://allowed.test/": "hello allowed.test"})

	// The runner process ends: its egress goes, the nat rules stay and
	// point at its ports. The sandbox reaches nothing by name (closed).
	fw1.Close()
	if got := fetch(t, p.ID, "http://allowed.test/"); got != "" {
		t.Fatalf("with the runner gone, allowed.test = %q; want nothing (the test would prove nothing)", got)
	}

	// A new runner process on the same state directory.
	fw2 := newFW()
	t.Cleanup(func() { fw2.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newRunner(fw2).Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(60 * time.Second)
	for fetch(t, p.ID, "http://allowed.test/") != "hello allowed.test" {
		if time.Now().After(deadline) {
			t.Fatal("after the runner restarted, allowed.test is still unreachable: its policy was not applied again")
		}
	}
	expectReach(t, p.ID, map[string]string{"http://denied.test/": ""})
}
