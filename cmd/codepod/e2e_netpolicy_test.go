package main_test

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
)

// TestNetworkPolicyEndToEnd drives a network policy through the CLI, the
// server, the job queue and a runner: set at create, changed while the
// sandbox runs, refusals read back, bad input refused, rules gone after
// the delete. All traffic stays on two server containers the test makes.
func TestNetworkPolicyEndToEnd(t *testing.T) {
	c := newCluster(t)
	c.startRunner("np", t.TempDir())
	n := rand.IntN(200) + 20
	netName := fmt.Sprintf("cptest-e2e-np-%d", n)
	dockerMust(t, "network", "create", "--subnet", fmt.Sprintf("10.215.%d.0/24", n), netName)
	t.Cleanup(func() { exec.Command("docker", "network", "rm", netName).Run() })
	a, b := fmt.Sprintf("10.215.%d.10", n), fmt.Sprintf("10.215.%d.11", n)
	for ip, body := range map[string]string{a: "a", b: "b"} {
		name := fmt.Sprintf("cptest-e2e-np-%d-%s", n, body)
		dockerMust(t, "run", "-d", "--name", name, "--network", netName, "--ip", ip, codepod.TinyImage,
			"sh", "-c", "mkdir /www && echo "+body+" > /www/index.html && httpd -p 80 -h /www && exec sleep 3600")
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	}

	id := c.must("sandbox", "create", "np-e2e", "--image", codepod.TinyImage, "--network-policy", "allow", "--allow", a+":80", "--wait")
	reach := func(ip string) string {
		script := fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s 80`, ip)
		out, _, code := c.cli("sandbox", "exec", id, "--", "sh", "-c", script)
		if code != 0 {
			return ""
		}
		_, body, _ := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n")
		return strings.TrimSpace(body)
	}
	if got := reach(a); got != "a" {
		t.Fatalf("allowed %s:80: got %q", a, got)
	}
	if got := reach(b); got != "" {
		t.Fatalf("not allowed %s: got %q", b, got)
	}
	if out := c.must("sandbox", "get", id); !strings.Contains(out, "allow; allow "+a+":80") {
		t.Errorf("sandbox get does not show the policy:\n%s", out)
	}

	// Changed while it runs; the runner applies it shortly after the answer.
	c.must("sandbox", "network", "np-e2e", "--policy", "allow", "--allow", b)
	deadline := time.Now().Add(30 * time.Second)
	for reach(b) != "b" {
		if time.Now().After(deadline) {
			t.Fatalf("the changed policy was not applied within 30s")
		}
	}
	if got := reach(a); got != "" {
		t.Errorf("%s is still reachable after the change: %q", a, got)
	}
	if log := c.must("sandbox", "net-log", "np-e2e"); !strings.Contains(log, "not-allowed") {
		t.Errorf("net-log does not show the refusals:\n%s", log)
	}

	// Domains on the list: the runner's DNS responder refuses other
	// names, net-log names them, and the allowed address still answers
	// (it bypasses the egress proxy).
	c.must("sandbox", "network", "np-e2e", "--policy", "allow", "--allow", b, "--allow", "*.allowed.test")
	deadline = time.Now().Add(30 * time.Second)
	for {
		c.cli("sandbox", "exec", id, "--", "nslookup", "refused.test")
		log := c.must("sandbox", "net-log", "np-e2e")
		if strings.Contains(log, "refused.test:53") && strings.Contains(log, "domain") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("net-log does not name the refused name within 30s:\n%s", log)
		}
	}
	if got := reach(b); got != "b" {
		t.Errorf("allowed address %s beside a domain list: %q", b, got)
	}
	if out := c.must("sandbox", "get", id); !strings.Contains(out, "*.allowed.test") {
		t.Errorf("sandbox get does not show the domain:\n%s", out)
	}

	// Bad input: a clear message and a non-zero exit.
	_, errOut, code := c.cli("sandbox", "create", "--image", codepod.TinyImage, "--network-policy", "internet", "--allow", "example.com")
	if code == 0 || !strings.Contains(errOut, "a domain name in the allow list needs mode allow") {
		t.Errorf("a domain in --allow of mode internet: exit %d, %s", code, errOut)
	}
	plain := c.must("sandbox", "create", "--image", codepod.TinyImage, "--network", "none")
	if _, errOut, code := c.cli("sandbox", "network", plain, "--policy", "internet"); code == 0 || !strings.Contains(errOut, "without a network policy") {
		t.Errorf("changing a plain sandbox's policy: exit %d, %s", code, errOut)
	}

	c.must("sandbox", "delete", "np-e2e")
	deadline = time.Now().Add(60 * time.Second)
	for {
		rules, err := exec.Command("iptables-save", "-t", "filter").CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(rules), "codepod:"+id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules of %s remain 60s after its delete", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dockerMust(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
