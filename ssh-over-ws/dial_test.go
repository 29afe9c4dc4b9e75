package sshws_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

func TestDialRefusalCarriesProblemDetail(t *testing.T) {
	long := `,"errors":[` + strings.Repeat(`{"message":"padding past the first KiB"},`, 60) + `{}]`
	tests := []struct {
		name, contentType, body string
		code                    int
		want                    string
	}{
		{"problem", "application/problem+json", `{"title":"Not Found","status":404,"detail":"sandbox not found"}`, 404, "sandbox not found"},
		{"problem over a KiB", "application/problem+json", `{"title":"Conflict","status":409,"detail":"sandbox is stopped"` + long + `}`, 409, "sandbox is stopped"},
		{"title only", "application/problem+json", `{"title":"Unauthorized","status":401}`, 401, "Unauthorized"},
		{"plain text", "text/plain; charset=utf-8", "bad gateway from the proxy\nmore", 502, "bad gateway from the proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.code)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			_, err := sshws.Dial(context.Background(), srv.URL+"/api/v1/sandboxes/x/tunnel?token=secret", sshws.DialOptions{HTTPClient: testClient(t)})
			var de *sshws.DialError
			if !errors.As(err, &de) {
				t.Fatalf("Dial error = %v (%T), want a *sshws.DialError", err, err)
			}
			if de.StatusCode != tt.code || de.Detail != tt.want {
				t.Errorf("DialError = %d %q, want %d %q", de.StatusCode, de.Detail, tt.code, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(tt.code)) || !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks the status or the detail", msg)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("message %q shows the URL's query", msg)
			}
		})
	}
}

func TestDialURLForms(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, echo)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, u := range []string{"http://" + host + "/t", "ws://" + host + "/t"} {
		conn := dial(t, u, sshws.DialOptions{})
		if got := roundTrip(t, conn, []byte("hi")); string(got) != "hi" {
			t.Errorf("%s: echo = %q", u, got)
		}
	}
	if _, err := sshws.Dial(context.Background(), "ftp://"+host+"/", sshws.DialOptions{}); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("ftp URL: error = %v, want one about the scheme", err)
	}
}

func TestDialSendsHeaderAndSubprotocol(t *testing.T) {
	got := make(chan [2]string, 1)
	srv := wsServer(t, sshws.AcceptOptions{}, func(r *http.Request, conn net.Conn) {
		got <- [2]string{r.Header.Get("Authorization"), r.Header.Get("Sec-WebSocket-Protocol")}
	})
	h := http.Header{"Authorization": {"Bearer cp_key"}}
	dial(t, wsURL(srv, "/"), sshws.DialOptions{Header: h})
	v := within(t, "handler", got)
	if v[0] != "Bearer cp_key" || v[1] != sshws.Subprotocol {
		t.Errorf("server saw Authorization %q and subprotocol %q", v[0], v[1])
	}
}

// childEnv marks the child process of TestDefaultClientProxyFromEnvironment.
const childEnv = "SSHWS_TEST_PROXY_CHILD"

// Go reads the proxy environment once per process, so the check runs in a
// child process whose environment is set from the start.
func TestDefaultClientProxyFromEnvironment(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("runs in the parent")
	}
	proxy := fakeProxy(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyEnvChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"HTTPS_PROXY=http://"+proxy.addr, "HTTP_PROXY=http://"+proxy.addr,
		"NO_PROXY=direct.codepod.test", "https_proxy=", "http_proxy=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestProxyEnvChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got := within(t, "CONNECT at the proxy", proxy.requests); got != "CONNECT sandbox.codepod.test:443" {
		t.Errorf("the proxy saw %q, want the default client's CONNECT", got)
	}
}

func TestProxyEnvChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("runs as the child of TestDefaultClientProxyFromEnvironment")
	}
	c, err := sshws.NewHTTPClient("")
	if err != nil {
		t.Fatal(err)
	}
	proxyOf := c.Transport.(*http.Transport).Proxy
	for _, tt := range []struct{ url, want string }{
		{"https://codepod.example.com/api/v1/sandboxes/x/tunnel", os.Getenv("HTTPS_PROXY")},
		{"http://codepod.example.com/", os.Getenv("HTTP_PROXY")},
		{"https://direct.codepod.test/", ""},
		{"https://127.0.0.1/", ""}, // Go never proxies loopback
	} {
		req, _ := http.NewRequest("GET", tt.url, nil)
		u, err := proxyOf(req)
		got := ""
		if u != nil {
			got = u.String()
		}
		if err != nil || got != tt.want {
			t.Errorf("proxy for %s = %q, %v; want %q", tt.url, got, err, tt.want)
		}
	}
	// Dial with no client uses this same default: its CONNECT reaches the
	// fake proxy, which refuses it.
	_, err = sshws.Dial(context.Background(), "wss://sandbox.codepod.test/tunnel", sshws.DialOptions{})
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("Dial through the env proxy = %v, want the proxy's refusal", err)
	}
}

// fakeProxy answers every request with 403 and reports its request line;
// it lets a test see where a client sends its traffic without sending any
// further.
type fakeProxyServer struct {
	addr     string
	requests chan string
}

func fakeProxy(t *testing.T) *fakeProxyServer {
	p := &fakeProxyServer{requests: make(chan string, 10)}
	p.addr = tcpServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		p.requests <- strings.TrimSuffix(line, " HTTP/1.1")
		fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	return p
}
