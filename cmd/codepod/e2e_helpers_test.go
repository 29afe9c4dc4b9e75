package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// The end-to-end tests run the real binaries as separate processes: a
// server, one or more runners on the real Docker Engine, and the CLI.

// binDir holds the binaries the tests run (see binaries).
var binDir string

// binaries builds codepod and codepod-agent (static) once per test binary
// and returns codepod's path.
func binaries(t testing.TB) (codepodBin string) {
	t.Helper()
	dir, err := testenv.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	binDir = dir
	return filepath.Join(dir, "codepod")
}

// proc is a background codepod process whose output goes to the test log
// when the test fails.
type proc struct {
	cmd *exec.Cmd
	out testenv.Buffer
}

func (p *proc) output() string { return p.out.String() }

func startProc(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{}
	p.cmd = exec.Command(binaries(t), args...)
	p.cmd.Env = append(baseEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.output())
		}
	})
	return p
}

// stop sends SIGTERM and waits; kill sends SIGKILL.
func (p *proc) stop() { stopProcess(p.cmd, 20*time.Second) }

// stopProcess sends SIGTERM to a started command and waits for it, killing
// it when it has not exited within grace.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// cluster is a server plus the means to start runners and run the CLI.
type cluster struct {
	t        testing.TB
	URL      string
	DataDir  string
	AdminKey string
	server   *proc
	// HTTP is a client for the server (it trusts the test CA when the
	// server speaks TLS; it ignores proxies).
	HTTP *http.Client
	// CLIEnv and RunnerEnv are appended to the environment of every CLI
	// and runner process (CA file, proxies).
	CLIEnv, RunnerEnv []string
}

func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newCluster starts `codepod server` on a free port with SQLite in a temp
// dir; extra are more server flags.
func newCluster(t testing.TB, extra ...string) *cluster {
	t.Helper()
	return newClusterWith(t, clusterOptions{}, extra...)
}

// clusterOptions change how newClusterWith starts the server.
type clusterOptions struct {
	// Host names the server in its URL instead of 127.0.0.1 (it must
	// resolve to 127.0.0.1), e.g. "codepod.test" for proxy tests.
	Host string
	// PKI, when set, makes the server speak TLS with PKI's certificate.
	PKI *testPKI
	// DatabaseURL, when set, is the server's database instead of SQLite
	// in its data dir (e.g. a PostgreSQL shared by several replicas).
	DatabaseURL string
	// AdminKey, when set, is the admin's key, for a replica started after
	// the one that bootstrapped the database (which alone writes the key
	// file).
	AdminKey string
	// Advertise passes the server's own URL as --advertise-url.
	Advertise bool
}

// newClusterWith starts `codepod server` on a free loopback port with
// SQLite in a temp dir; extra are more server flags.
func newClusterWith(t testing.TB, o clusterOptions, extra ...string) *cluster {
	t.Helper()
	testenv.Docker(t)
	ensureTinyImage(t)
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	host, scheme := "127.0.0.1", "http"
	if o.Host != "" {
		host = o.Host
	}
	c := &cluster{t: t, DataDir: t.TempDir(), HTTP: &http.Client{Transport: &http.Transport{}}}
	args := []string{"server", "--addr", addr, "--data-dir", c.DataDir, "--database-url", o.DatabaseURL, "--runner-timeout", "5s", "--job-lease", "4s"}
	if o.PKI != nil {
		scheme = "https"
		args = append(args, "--tls-cert", o.PKI.CertFile, "--tls-key", o.PKI.KeyFile)
		c.HTTP = o.PKI.client()
		c.CLIEnv = append(c.CLIEnv, "CODEPOD_CA_FILE="+o.PKI.CAFile)
		c.RunnerEnv = append(c.RunnerEnv, "CODEPOD_CA_FILE="+o.PKI.CAFile)
	}
	c.URL = scheme + "://" + net.JoinHostPort(host, port)
	if o.Advertise {
		args = append(args, "--advertise-url", c.URL)
	}
	c.server = startProc(t, "server "+c.URL, []string{"DATABASE_URL="}, append(args, extra...)...)
	waitHTTP(t, c.HTTP, c.URL+"/healthz")
	if c.AdminKey = o.AdminKey; c.AdminKey == "" {
		b, err := os.ReadFile(filepath.Join(c.DataDir, "admin-api-key"))
		if err != nil {
			t.Fatalf("admin key: %v", err)
		}
		c.AdminKey = strings.TrimSpace(string(b))
		c.removeContainersAtEnd()
	}
	return c
}

// removeContainersAtEnd removes, when the test ends, every container of
// the admin's sandboxes that the test left behind. Cleanups run last
// registered first, so the runners have stopped by then and the server
// is still up.
func (c *cluster) removeContainersAtEnd() {
	var me struct{ ID string }
	c.mustAPI("GET", "/api/v1/me", nil, &me, http.StatusOK)
	c.t.Cleanup(func() {
		out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.codepod.owner="+me.ID).Output()
		if ids := strings.Fields(string(out)); err == nil && len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})
}

func waitHTTP(t testing.TB, hc *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := hc.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer", url)
}

// cli runs the codepod CLI as the admin and returns stdout, stderr and the
// exit code.
func (c *cluster) cli(args ...string) (string, string, int) {
	return c.cliAs(c.AdminKey, args...)
}

func (c *cluster) cliAs(key string, args ...string) (string, string, int) {
	c.t.Helper()
	r := c.run(cliOpts{key: key}, args...)
	return string(r.stdout), string(r.stderr), r.code
}

// cliOpts shape one CLI run.
type cliOpts struct {
	key   string    // API key in CODEPOD_API_KEY; "" with noCreds: none
	home  string    // HOME (XDG_CONFIG_HOME is HOME/.config); "" makes a fresh one
	stdin io.Reader // nil: empty
	env   []string  // appended after the cluster's CLIEnv
	// noCreds leaves CODEPOD_SERVER_URL and CODEPOD_API_KEY unset, so the
	// CLI reads them from its config file.
	noCreds bool
}

// cliResult is what a CLI run printed and how it ended.
type cliResult struct {
	stdout, stderr []byte
	code           int
}

// run runs the codepod CLI with o and returns its output and exit code.
func (c *cluster) run(o cliOpts, args ...string) cliResult {
	c.t.Helper()
	return runCmd(c.t, o.stdin, c.cliEnv(o), binaries(c.t), args...)
}

// cliEnv is the environment of a CLI run with o.
func (c *cluster) cliEnv(o cliOpts) []string {
	if o.home == "" {
		o.home = c.t.TempDir()
	}
	env := append(baseEnv(), "HOME="+o.home, "XDG_CONFIG_HOME="+filepath.Join(o.home, ".config"))
	if !o.noCreds {
		key := o.key
		if key == "" {
			key = c.AdminKey
		}
		env = append(env, "CODEPOD_SERVER_URL="+c.URL, "CODEPOD_API_KEY="+key)
	}
	env = append(env, c.CLIEnv...)
	return append(env, o.env...)
}

// runCmd runs a program to its end (at most two minutes) and returns its
// output and exit code.
func runCmd(t testing.TB, stdin io.Reader, env []string, name string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Stdin = env, stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", name, args, err)
	}
	return cliResult{stdout.Bytes(), stderr.Bytes(), code}
}

// baseEnv is this process's environment without the CodePod client
// settings and proxies, which each test sets itself.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "CODEPOD_"), strings.HasSuffix(strings.ToUpper(k), "_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// must runs the CLI and fails the test unless it exits 0.
func (c *cluster) must(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.cli(args...)
	if code != 0 {
		c.t.Fatalf("codepod %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// startRunner starts `codepod runner` with its own state dir and a fresh
// registration token; extra are more runner flags.
func (c *cluster) startRunner(name, stateDir string, extra ...string) *proc {
	c.t.Helper()
	token := c.must("runner-token", "create")
	args := append([]string{"runner", "--server", c.URL, "--token", token, "--state-dir", stateDir, "--name", name,
		"--agent-binary", filepath.Join(binDir, "codepod-agent"), "--reconcile-interval", "2s"}, extra...)
	return startProc(c.t, "runner "+name, c.RunnerEnv, args...)
}

// sandbox is the JSON of `sandbox get -o json`.
type sandbox struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	RunnerID string `json:"runner_id"`
	HostKey  string `json:"host_key_fingerprint"`
}

func (c *cluster) get(ref string) sandbox {
	c.t.Helper()
	var s sandbox
	if err := json.Unmarshal([]byte(c.must("sandbox", "get", ref, "-o", "json")), &s); err != nil {
		c.t.Fatal(err)
	}
	return s
}

// waitStatus waits until the sandbox has status want.
func (c *cluster) waitStatus(ref, want string, timeout time.Duration) sandbox {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var s sandbox
	for time.Now().Before(deadline) {
		if s = c.get(ref); s.Status == want {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("sandbox %s is %s (%s), want %s after %s", ref, s.Status, s.Reason, want, timeout)
	return s
}

// containers lists the names of containers (any state) of a sandbox.
func containers(t testing.TB, sandboxID string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=dev.codepod.sandbox="+sandboxID, "--format", "{{.Names}} {{.State}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func ensureTinyImage(t testing.TB) {
	if err := testenv.TinyImage(binaries(t)); err != nil {
		t.Fatal(err)
	}
}
