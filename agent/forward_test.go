package agent_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/agent"
	"golang.org/x/crypto/ssh"
)

func TestDirectTCPIP(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	c := f.client(t)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.URL.Path)
	}))
	defer web.Close()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.DialContext(ctx, network, addr)
		},
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(web.URL + "/through/ssh")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from /through/ssh" {
		t.Errorf("body %q", body)
	}
	t.Run("half close", func(t *testing.T) {
		// A client that sends its request then EOF still gets the answer.
		conn, err := c.Dial("tcp", web.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /half HTTP/1.0\r\n\r\n")
		conn.(interface{ CloseWrite() error }).CloseWrite()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		all, _ := io.ReadAll(conn)
		if !strings.Contains(string(all), "hello from /half") {
			t.Errorf("response %q", all)
		}
	})
	t.Run("refused", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		if conn, err := c.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Error("dial to a closed port succeeded")
		}
	})
}

// TestKeepAlive: an idle but live connection survives many keep-alive
// rounds; a peer that stops answering is dropped.
func TestKeepAlive(t *testing.T) {
	f := newFixture(t)
	// A busy machine can delay the client's answers by a few hundred
	// milliseconds: tolerate 20 misses of 20 ms, and stay idle five times
	// that long, so a client that never answered would be dropped.
	startAgent(t, f, func(c *agent.Config) {
		c.KeepAliveInterval = 20 * time.Millisecond
		c.KeepAliveCountMax = 20
	})
	c := f.client(t)
	if res := run(t, c, "true", nil, nil); res.code != 0 {
		t.Fatal("first command failed")
	}
	time.Sleep(2 * time.Second) // 100 intervals idle
	if res := run(t, c, "echo alive", nil, nil); res.stdout != "alive\n" {
		t.Fatalf("idle connection broken: %+v", res)
	}
}

func TestKeepAliveDropsSilentPeer(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f, func(c *agent.Config) {
		c.KeepAliveInterval = 30 * time.Millisecond
		c.KeepAliveCountMax = 3
	})
	nc, err := net.Dial("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// A client that never reads its global requests never answers them.
	conn, _, _, err := ssh.NewClientConn(nc, "unix", &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(f.user)}, HostKeyCallback: ssh.FixedHostKey(f.hostKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.OpenChannel("session", nil); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { conn.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("silent peer not dropped")
	}
}
