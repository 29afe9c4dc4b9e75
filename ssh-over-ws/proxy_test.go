package sshws_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/internal/testenv"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// tinyproxy is a real forward proxy (Debian's tinyproxy) run by a test.
type tinyproxy struct {
	url     *url.URL
	logFile string
	cmd     *exec.Cmd
}

// startTinyproxy runs tinyproxy in the foreground on a free loopback port,
// allowing CONNECT to connectPort, until the test ends.
func startTinyproxy(t *testing.T, connectPort string) *tinyproxy {
	return startTinyproxyIdle(t, connectPort, 60)
}

// startTinyproxyIdle is startTinyproxy with the proxy's idle timeout in
// seconds.
func startTinyproxyIdle(t *testing.T, connectPort string, idle int) *tinyproxy {
	t.Helper()
	bin := testenv.Command(t, "tinyproxy")
	dir := t.TempDir()
	port := freePort(t)
	p := &tinyproxy{logFile: filepath.Join(dir, "tinyproxy.log")}
	conf := fmt.Sprintf("Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nConnectPort %s\n"+
		"LogFile %q\nLogLevel Info\nTimeout %d\nMaxClients 20\n", port, connectPort, p.logFile, idle)
	confFile := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p.cmd = exec.Command(bin, "-d", "-c", confFile)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start tinyproxy: %v", err)
	}
	t.Cleanup(p.stop)
	p.url = &url.URL{Scheme: "http", Host: "127.0.0.1:" + port}
	waitListening(t, p.url.Host)
	return p
}

// stop ends the proxy (this process, by its own pid) and waits for it.
func (p *tinyproxy) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func (p *tinyproxy) log(t *testing.T) string {
	b, err := os.ReadFile(p.logFile)
	if err != nil {
		t.Fatalf("read tinyproxy log: %v", err)
	}
	return string(b)
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func waitListening(t *testing.T, addr string) {
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %s", addr, patience)
}

// proxiedClient is the client a CodePod CLI builds (NewHTTPClient with a CA
// file) with the proxy set on its transport, because Go's
// ProxyFromEnvironment never proxies loopback addresses.
func proxiedClient(t *testing.T, caFile string, proxy *url.URL) *http.Client {
	c, err := sshws.NewHTTPClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport.(*http.Transport)
	tr.Proxy = http.ProxyURL(proxy)
	t.Cleanup(tr.CloseIdleConnections)
	return c
}

// writeCA writes the TLS test server's certificate as a PEM file.
func writeCA(t *testing.T, srv *httptest.Server) string {
	f := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestThroughTinyproxyHTTPS(t *testing.T) {
	srv := httptest.NewUnstartedServer(wsHandler(t, sshws.AcceptOptions{}, echo))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the no-CA case's handshake error
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	proxy := startTinyproxy(t, port)
	caFile := writeCA(t, srv)
	url := srv.URL + "/api/v1/sandboxes/sb1/tunnel"

	conn := dial(t, url, sshws.DialOptions{HTTPClient: proxiedClient(t, caFile, proxy.url)})
	data := randomBytes(t, 1<<20)
	if got := roundTrip(t, conn, data); !bytes.Equal(got, data) {
		t.Fatal("bytes through tinyproxy's CONNECT came back different")
	}
	conn.Close()
	if got, want := proxy.log(t), "CONNECT 127.0.0.1:"+port; !strings.Contains(got, want) {
		t.Errorf("tinyproxy's log lacks %q:\n%s", want, got)
	}

	t.Run("without the CA file TLS fails", func(t *testing.T) {
		_, err := sshws.Dial(context.Background(), url, sshws.DialOptions{HTTPClient: proxiedClient(t, "", proxy.url)})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Dial = %v, want a certificate error", err)
		}
	})
	t.Run("with the proxy stopped the dial fails", func(t *testing.T) {
		proxy.stop()
		_, err := sshws.Dial(context.Background(), url, sshws.DialOptions{HTTPClient: proxiedClient(t, caFile, proxy.url)})
		if err == nil || !strings.Contains(err.Error(), "proxy") {
			t.Errorf("Dial = %v, want a proxy connection error", err)
		}
	})
}

// tinyproxy 1.11 does not pass a WebSocket upgrade over plain http: it
// drops the Upgrade header and rewrites Connection to "close", so the
// server refuses the handshake (426). Over plain http a proxy is usable
// only if it forwards Upgrade as-is; docs/tunnel.md says so. This test
// pins what tinyproxy does, so that the docs are revisited if it changes.
func TestThroughTinyproxyPlainHTTPUpgradeIsRefused(t *testing.T) {
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- fmt.Sprintf("Connection=%q Upgrade=%q", r.Header.Get("Connection"), r.Header.Get("Upgrade"))
		if conn, err := sshws.Accept(w, r, sshws.AcceptOptions{}); err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	proxy := startTinyproxy(t, port)

	_, err := sshws.Dial(context.Background(), srv.URL+"/tunnel", sshws.DialOptions{HTTPClient: proxiedClient(t, "", proxy.url)})
	var de *sshws.DialError
	if !errors.As(err, &de) || de.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("Dial through tinyproxy over http = %v; want 426 (if this now works, update docs/tunnel.md)", err)
	}
	if got, want := within(t, "request at the server", seen), `Connection="close" Upgrade=""`; got != want {
		t.Errorf("the server saw %s, want %s", got, want)
	}
	if got, want := proxy.log(t), "GET http://127.0.0.1:"+port+"/tunnel"; !strings.Contains(got, want) {
		t.Errorf("tinyproxy's log lacks %q:\n%s", want, got)
	}
}

// A proxy cuts connections idle for longer than its timeout; pings keep an
// idle tunnel alive through it.
func TestPingsKeepIdleTunnelThroughTinyproxy(t *testing.T) {
	srv := httptest.NewUnstartedServer(wsHandler(t, sshws.AcceptOptions{PingInterval: -1}, echo))
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	proxy := startTinyproxyIdle(t, port, 1)
	client := proxiedClient(t, writeCA(t, srv), proxy.url)

	pinged := dial(t, srv.URL, sshws.DialOptions{HTTPClient: client, PingInterval: 300 * time.Millisecond})
	silent := dial(t, srv.URL, sshws.DialOptions{HTTPClient: client, PingInterval: -1})
	silentEnded := readErr(silent)
	time.Sleep(2500 * time.Millisecond) // idle, well past the proxy's 1 s timeout

	select {
	case err := <-silentEnded:
		t.Logf("the tunnel without pings was cut: %v", err)
	default:
		t.Error("the tunnel without pings survived 2.5 s idle through a proxy with a 1 s timeout; the test proves nothing")
	}
	if got := roundTrip(t, pinged, []byte("still here")); string(got) != "still here" {
		t.Errorf("echo after idling = %q", got)
	}
}
