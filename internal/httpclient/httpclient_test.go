package httpclient_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/internal/httpclient"
)

func TestTrustsTheExtraCABundle(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()

	plain, err := httpclient.New("")
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := plain.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a server with a private CA was trusted without its bundle")
	}

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	os.WriteFile(bundle, cert, 0o644)
	hc, err := httpclient.New(bundle)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatalf("with the CA bundle: %v", err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
}

func TestABadBundleIsAnError(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o644)
	for path, want := range map[string]string{junk: "no PEM certificate", filepath.Join(dir, "missing.pem"): "read CA bundle"} {
		if _, err := httpclient.New(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s): %v, want %q", path, err, want)
		}
	}
}

// Go reads the proxy environment once per process, so the check runs in a
// child process with the environment set from the start.
func TestUsesTheProxyFromTheEnvironment(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyChild$", "-test.v")
	cmd.Env = append(os.Environ(), "CODEPOD_PROXY_CHILD=1", "HTTPS_PROXY=http://proxy.invalid:3128", "NO_PROXY=internal.example.com")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestProxyChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestProxyChild(t *testing.T) {
	if os.Getenv("CODEPOD_PROXY_CHILD") == "" {
		t.Skip("run by TestUsesTheProxyFromTheEnvironment")
	}
	tr, err := httpclient.Transport("")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"https://codepod.example.com/api/v1/runners/poll":  "proxy.invalid:3128",
		"https://internal.example.com/api/v1/runners/poll": "", // NO_PROXY
	}
	for target, want := range cases {
		req, _ := http.NewRequest("GET", target, nil)
		u, err := tr.Proxy(req)
		got := ""
		if u != nil {
			got = u.Host
		}
		if err != nil || got != want {
			t.Errorf("proxy for %s: %q (%v), want %q", target, got, err, want)
		}
	}
}
