package main_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTLSThroughHTTPSProxy runs the server with its own TLS certificate
// (from a test CA) and a runner that reaches it only through tinyproxy
// (HTTPS_PROXY, CONNECT): the runner's polls and tunnel dial-backs and
// the CLI's REST calls and tunnels all trust CODEPOD_CA_FILE, and the
// proxy's log and its absence prove it is on the path.
func TestTLSThroughHTTPSProxy(t *testing.T) {
	requireTestHost(t)
	pki := newTestPKI(t, "127.0.0.1", testHost)
	c := newClusterWith(t, clusterOptions{Host: testHost, PKI: pki}, longRunnerTimeout...)
	port := portOf(strings.TrimPrefix(c.URL, "https://"))
	proxy := startTinyproxy(t, port)
	connect := ": CONNECT " + testHost + ":" + port
	c.RunnerEnv = append(c.RunnerEnv, "HTTPS_PROXY="+proxy.URL)
	runner := c.startRunner("behind-proxy", t.TempDir())
	viaProxy := cliOpts{env: []string{"HTTPS_PROXY=" + proxy.URL}}

	t.Run("CLI over https with CODEPOD_CA_FILE; runner through the proxy", func(t *testing.T) {
		if r := c.run(cliOpts{}, "sandbox", "create", "tls", "--image", "codepod/tiny:latest", "--wait", "--timeout", "60s"); r.code != 0 {
			t.Fatalf("create --wait over https: exit %d: %s\nrunner:\n%s", r.code, r.stderr, runner.output())
		}
		if proxy.count(connect) == 0 {
			t.Fatalf("the runner took a job but tinyproxy's log has no %q:\n%s", connect, proxy.log())
		}
		// The CLI goes direct; the tunnel's runner end must dial back
		// through the proxy, a new CONNECT.
		before := proxy.count(connect)
		r := c.run(cliOpts{}, "sandbox", "exec", "tls", "--", "echo", "over tls")
		if r.code != 0 || string(r.stdout) != "over tls\n" {
			t.Fatalf("exec over https: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		if after := proxy.count(connect); after <= before {
			t.Errorf("the runner's tunnel dial-back did not go through tinyproxy (%d CONNECTs before, %d after)", before, after)
		}
		s := newSSHSetup(t, c, "tls")
		if r := s.ssh(t, nil, nil, "exit 9"); r.code != 9 {
			t.Errorf("OpenSSH through ssh-proxy over https: exit %d, want 9: %s", r.code, r.stderr)
		}
	})
	t.Run("without CODEPOD_CA_FILE the CLI refuses the certificate", func(t *testing.T) {
		for _, args := range [][]string{{"sandbox", "list"}, {"sandbox", "exec", "tls", "--", "true"}} {
			r := c.run(cliOpts{env: []string{"CODEPOD_CA_FILE="}}, args...)
			if r.code == 0 || !bytes.Contains(r.stderr, []byte("certificate")) {
				t.Errorf("%v without the CA: exit %d, stderr %q; want a certificate error", args, r.code, r.stderr)
			}
		}
	})
	t.Run("CLI through tinyproxy", func(t *testing.T) {
		before := proxy.count(connect)
		if r := c.run(viaProxy, "sandbox", "list"); r.code != 0 || !bytes.Contains(r.stdout, []byte("tls")) {
			t.Fatalf("list through the proxy: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		if after := proxy.count(connect); after <= before {
			t.Fatalf("`sandbox list` with HTTPS_PROXY left no CONNECT in tinyproxy's log")
		}
		before = proxy.count(connect)
		r := c.run(viaProxy, "sandbox", "exec", "tls", "--", "sh", "-c", "echo via proxy; exit 6")
		if r.code != 6 || string(r.stdout) != "via proxy\n" {
			t.Errorf("exec through the proxy: exit %d, %q, %s", r.code, r.stdout, r.stderr)
		}
		// The CLI's REST calls and tunnel (which may share one kept-alive
		// connection) and the runner's dial-back or its next poll.
		if after := proxy.count(connect); after < before+2 {
			t.Errorf("exec through the proxy: %d new CONNECTs, want at least 2", after-before)
		}
	})
	t.Run("with the proxy stopped the same commands fail", func(t *testing.T) {
		proxy.stop()
		for _, args := range [][]string{{"sandbox", "list"}, {"sandbox", "exec", "tls", "--", "true"}} {
			r := c.run(viaProxy, args...)
			if r.code == 0 || !bytes.Contains(r.stderr, []byte("proxyconnect")) {
				t.Errorf("%v with the proxy down: exit %d, stderr %q; want a proxy error", args, r.code, r.stderr)
			}
		}
		// The runner's poll rode the proxy: it breaks, and with the runner
		// cut off a tunnel cannot open even for a direct CLI.
		waitOutput(t, runner, "poll failed", 10*time.Second)
		r := c.run(cliOpts{}, "sandbox", "exec", "tls", "--", "true")
		if r.code == 0 || !bytes.Contains(r.stderr, []byte("runner")) {
			t.Errorf("exec with the runner's proxy down: exit %d, stderr %q; want the runner not answering", r.code, r.stderr)
		}
	})
}

// TestPlainHTTPProxySquid runs the server on plain http behind Debian's
// squid (HTTP_PROXY): squid forwards the WebSocket upgrade when
// http_upgrade_request_protocols allows it, so tunnels, REST calls and the
// runner's polls and dial-backs all pass, as its access log shows.
func TestPlainHTTPProxySquid(t *testing.T) {
	requireTestHost(t)
	squid := startSquid(t, true)
	c := newClusterWith(t, clusterOptions{Host: testHost}, longRunnerTimeout...)
	c.RunnerEnv = append(c.RunnerEnv, "HTTP_PROXY="+squid.URL)
	runner := c.startRunner("behind-squid", t.TempDir())
	viaProxy := cliOpts{env: []string{"HTTP_PROXY=" + squid.URL}}

	if r := c.run(viaProxy, "sandbox", "create", "sq", "--image", "codepod/tiny:latest", "--wait", "--timeout", "60s"); r.code != 0 {
		t.Fatalf("create --wait through squid: exit %d: %s\nrunner:\n%s", r.code, r.stderr, runner.output())
	}
	if r := c.run(viaProxy, "sandbox", "list"); r.code != 0 || !bytes.Contains(r.stdout, []byte("sq")) {
		t.Fatalf("list through squid: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	r := c.run(viaProxy, "sandbox", "exec", "sq", "--", "sh", "-c", "echo through squid; exit 4")
	if r.code != 4 || string(r.stdout) != "through squid\n" {
		t.Errorf("exec (tunnel) through squid: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	proxied := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, squid.URL))}}
	direct := c.HTTP
	c.HTTP = proxied
	var res execResult
	c.mustAPI("POST", "/api/v1/sandboxes/sq/exec", execRequest{Shell: "echo rest"}, &res, 200)
	c.HTTP = direct
	if res.Stdout != "rest\n" {
		t.Errorf("REST exec through squid: %+v", res)
	}
	prefix := "http://" + testHost + ":" + portOf(strings.TrimPrefix(c.URL, "http://"))
	wantLog := []string{
		"GET " + prefix + "/api/v1/sandboxes",                               // the CLI's REST calls
		"POST " + prefix + "/api/v1/sandboxes/sq/exec",                      // the REST exec
		"GET " + prefix + "/api/v1/sandboxes/" + c.get("sq").ID + "/tunnel", // the CLI's tunnel
		"POST " + prefix + "/api/v1/runners/poll",                           // the runner's polls
		"GET " + prefix + "/api/v1/runners/tunnels/",                        // the runner's dial-back
	}
	deadline := time.Now().Add(15 * time.Second) // squid logs a request when it ends
	for _, want := range wantLog {
		for !strings.Contains(squid.log(), want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(squid.log(), want) {
			t.Errorf("squid's access log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("squid's access log:\n%s", squid.log())
	}
	// Without http_upgrade_request_protocols squid drops the Upgrade
	// header: REST calls pass, tunnels get 426 (docs/connecting.md).
	plain := startSquid(t, false)
	viaPlain := cliOpts{env: []string{"HTTP_PROXY=" + plain.URL}}
	if r := c.run(viaPlain, "sandbox", "list"); r.code != 0 {
		t.Errorf("list through squid without upgrades: exit %d: %s", r.code, r.stderr)
	}
	if r := c.run(viaPlain, "sandbox", "exec", "sq", "--", "true"); r.code == 0 || !bytes.Contains(r.stderr, []byte("426")) {
		t.Errorf("exec through squid without upgrades: exit %d, stderr %q; want 426 (if this works now, update docs/connecting.md)", r.code, r.stderr)
	}
	squid.stop()
	r = c.run(viaProxy, "sandbox", "list")
	if r.code == 0 || !bytes.Contains(r.stderr, []byte("proxyconnect")) {
		t.Errorf("list with squid stopped: exit %d, stderr %q; want a proxy error", r.code, r.stderr)
	}
	waitOutput(t, runner, "poll failed", 10*time.Second)
}

// waitOutput waits until a process printed s.
func waitOutput(t *testing.T, p *proc, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.output(), s) {
		if time.Now().After(deadline) {
			t.Errorf("the process did not print %q within %s:\n%s", s, timeout, p.output())
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
