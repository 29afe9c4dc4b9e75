package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// testHost is the name proxy tests give the server: Go never sends
// requests for localhost or loopback addresses through HTTP(S)_PROXY, so
// the server must be named by a host name that /etc/hosts maps to
// 127.0.0.1 (.ci/run adds the line).
const testHost = "codepod.test"

// requireTestHost checks that testHost resolves to 127.0.0.1 only.
func requireTestHost(t testing.TB) {
	t.Helper()
	addrs, err := net.LookupHost(testHost)
	if err != nil || len(addrs) == 0 {
		testenv.Missing(t, testHost+" in /etc/hosts", "add `127.0.0.1 "+testHost+"` to /etc/hosts as .ci/run does")
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			t.Fatalf("%s resolves to %v; the tests send traffic to loopback only", testHost, addrs)
		}
	}
}

// forwardProxy is a real HTTP forward proxy process run by a test.
type forwardProxy struct {
	name    string
	URL     string // http://127.0.0.1:PORT
	logFile string
	cmd     *exec.Cmd
}

// startTinyproxy runs tinyproxy on a free loopback port, allowing CONNECT
// to connectPort only.
func startTinyproxy(t testing.TB, connectPort string) *forwardProxy {
	t.Helper()
	bin := testenv.Command(t, "tinyproxy")
	dir := t.TempDir()
	port := portOf(freePort(t))
	p := &forwardProxy{name: "tinyproxy", logFile: filepath.Join(dir, "tinyproxy.log")}
	conf := fmt.Sprintf("Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nConnectPort %s\n"+
		"LogFile %q\nLogLevel Info\nTimeout 120\nMaxClients 100\n", port, connectPort, p.logFile)
	p.start(t, dir, port, conf, bin, "-d", "-c")
	return p
}

// startSquid runs Debian's squid on a free loopback port with no disk
// cache. With upgrade it passes WebSocket upgrades on plain http: squid
// matches the protocol name case-sensitively, and clients send
// "Upgrade: websocket", so the line must say "websocket" ("WebSocket"
// matches nothing and squid drops the header). Squid runs as root and
// drops to the proxy user, so its directory is world-writable.
func startSquid(t testing.TB, upgrade bool) *forwardProxy {
	t.Helper()
	bin := testenv.Command(t, "squid")
	dir, err := os.MkdirTemp("", "codepod-squid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	port := portOf(freePort(t))
	p := &forwardProxy{name: "squid", logFile: filepath.Join(dir, "access.log")}
	conf := strings.Join([]string{
		"http_port 127.0.0.1:" + port,
		"http_access allow localhost",
		"http_access deny all",
		"cache deny all",
		"cache_mem 8 MB",
		"pinger_enable off",
		"pid_filename " + filepath.Join(dir, "squid.pid"),
		"access_log stdio:" + p.logFile,
		"cache_log " + filepath.Join(dir, "cache.log"),
		"cache_store_log none",
		"coredump_dir " + dir,
		"cache_effective_user proxy",
		"shutdown_lifetime 0 seconds",
		"read_timeout 5 minutes",
		"",
	}, "\n")
	if upgrade {
		conf += "http_upgrade_request_protocols websocket allow all\n"
	}
	p.start(t, dir, port, conf, bin, "-N", "-f")
	return p
}

// start writes conf and runs bin with args and the config file's path.
func (p *forwardProxy) start(t testing.TB, dir, port, conf, bin string, args ...string) {
	t.Helper()
	confFile := filepath.Join(dir, p.name+".conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, p.name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(bin, append(args, confFile)...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("--- %s output ---\n%s\n--- %s log ---\n%s", p.name, b, p.name, p.log())
		}
	})
	p.URL = "http://127.0.0.1:" + port
	waitListening(t, "127.0.0.1:"+port)
}

// stop ends the proxy (by its own pid) and waits for it.
func (p *forwardProxy) stop() { stopProcess(p.cmd, 5*time.Second) }

// log is the proxy's access log so far.
func (p *forwardProxy) log() string {
	b, _ := os.ReadFile(p.logFile)
	return string(b)
}

// count is how many lines of the proxy's log contain s.
func (p *forwardProxy) count(s string) int {
	return strings.Count(p.log(), s)
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
