package sshws_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// tcpEcho starts a TCP echo server; each connection's end is reported on
// the returned channel.
func tcpEcho(t *testing.T) (string, <-chan struct{}) {
	ended := make(chan struct{}, 10)
	addr := tcpServer(t, func(c net.Conn) {
		io.Copy(c, c)
		ended <- struct{}{}
	})
	return addr, ended
}

func TestSpliceWebSocketToTCP(t *testing.T) {
	addr, tcpEnded := tcpEcho(t)
	spliced := make(chan error, 1)
	srv := wsServer(t, sshws.AcceptOptions{}, splicer(t, addr, spliced))
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})

	data := randomBytes(t, 4<<20)
	if got := roundTrip(t, conn, data); !bytes.Equal(got, data) {
		t.Fatal("bytes through WS ⇄ splice ⇄ TCP echo came back different")
	}

	t.Run("closing the client closes the TCP side", func(t *testing.T) {
		conn.Close()
		within(t, "TCP echo connection end", tcpEnded)
		if err := within(t, "Splice's return", spliced); err != nil {
			t.Errorf("Splice = %v, want nil after a clean close", err)
		}
	})
}

func TestSpliceTCPEndClosesClient(t *testing.T) {
	addr := tcpServer(t, func(c net.Conn) { c.Write([]byte("bye")) })
	spliced := make(chan error, 1)
	srv := wsServer(t, sshws.AcceptOptions{}, splicer(t, addr, spliced))
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})

	done := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(conn) // nil error: the stream ended cleanly
		done <- fmt.Sprintf("%q %v", b, err)
	}()
	if got := within(t, "client end of stream", done); got != `"bye" <nil>` {
		t.Errorf("client read %s, want \"bye\" then a clean end", got)
	}
	if err := within(t, "Splice's return", spliced); err != nil {
		t.Errorf("Splice = %v, want nil", err)
	}
}

// relayServer stands for CodePod's server: it accepts a client's
// WebSocket, dials upstream (standing for the runner's) and splices the two,
// pinging upstream every ping (0: never). The client's side is not pinged:
// the tests make only the upstream side vanish, and a client slow to answer
// on a busy machine must not be taken for the peer that vanished.
func relayServer(t *testing.T, upstream string, ping time.Duration, spliced chan<- error) string {
	srv := wsServer(t, sshws.AcceptOptions{}, func(r *http.Request, conn net.Conn) {
		up, err := sshws.Dial(r.Context(), upstream, sshws.DialOptions{HTTPClient: testClient(t), PingInterval: ping})
		if err != nil {
			t.Errorf("dial upstream: %v", err)
			return
		}
		spliced <- sshws.Splice(r.Context(), conn, up)
	})
	return wsURL(srv, "/")
}

func TestSpliceForwardsCloseStatus(t *testing.T) {
	runner := wsServer(t, sshws.AcceptOptions{}, func(_ *http.Request, conn net.Conn) {
		sshws.CloseWithReason(conn, 4404, "sandbox not running")
	})
	spliced := make(chan error, 1)
	conn := dial(t, relayServer(t, wsURL(runner, "/"), 0, spliced), sshws.DialOptions{})

	var ce *sshws.CloseError
	err := within(t, "client read", readErr(conn))
	if !errors.As(err, &ce) || ce.Code != 4404 || ce.Reason != "sandbox not running" {
		t.Errorf("client read error = %v, want the runner's 4404 \"sandbox not running\"", err)
	}
	if err := within(t, "Splice's return", spliced); !errors.As(err, &ce) || ce.Code != 4404 {
		t.Errorf("Splice = %v, want the runner's close error", err)
	}
}

func TestSpliceReportsVanishedPeer(t *testing.T) {
	runner := wsServer(t, sshws.AcceptOptions{PingInterval: 100 * time.Millisecond}, echo)
	rl := newRelay(t, strings.TrimPrefix(runner.URL, "http://"))
	spliced := make(chan error, 1)
	conn := dial(t, relayServer(t, "ws://"+rl.addr+"/", 100*time.Millisecond, spliced), sshws.DialOptions{})
	roundTrip(t, conn, []byte("alive"))

	rl.frozen.Store(true) // the runner vanishes behind the server

	var ce *sshws.CloseError
	err := within(t, "client read", readErr(conn))
	if !errors.As(err, &ce) || ce.Code != sshws.StatusBadGateway || !strings.Contains(ce.Reason, "ping") {
		t.Errorf("client read error = %v, want 1014 about pings", err)
	}
	if err := within(t, "Splice's return", spliced); !errors.Is(err, sshws.ErrPeerUnresponsive) {
		t.Errorf("Splice = %v, want ErrPeerUnresponsive", err)
	}
}

func TestSpliceHalfClosesTCP(t *testing.T) {
	// The backend answers only after its request ended: it needs the
	// client's half-close to come through, and its answer to come back.
	backend := tcpServer(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "got %d bytes", n)
	})
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	spliced := make(chan error, 1)
	go func() {
		a, err := front.Accept()
		if err != nil {
			spliced <- err
			return
		}
		b, err := net.Dial("tcp", backend)
		if err != nil {
			a.Close()
			spliced <- err
			return
		}
		spliced <- sshws.Splice(context.Background(), a, b)
	}()

	c, err := net.Dial("tcp", front.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 100_000))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "got 100000 bytes" {
		t.Errorf("answer = %q, %v; want \"got 100000 bytes\"", got, err)
	}
	if err := within(t, "Splice's return", spliced); err != nil {
		t.Errorf("Splice = %v, want nil", err)
	}
}

func TestSpliceStopsWithContext(t *testing.T) {
	addr, tcpEnded := tcpEcho(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spliced := make(chan error, 1)
	srv := wsServer(t, sshws.AcceptOptions{}, func(r *http.Request, conn net.Conn) {
		tcp, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("dial: %v", err)
			return
		}
		spliced <- sshws.Splice(ctx, conn, tcp)
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})
	roundTrip(t, conn, []byte("x"))
	errc := readErr(conn)

	cancel()
	if err := within(t, "Splice's return", spliced); !errors.Is(err, context.Canceled) {
		t.Errorf("Splice = %v, want context.Canceled", err)
	}
	within(t, "TCP side closed", tcpEnded)
	if err := within(t, "client read", errc); !isEOF(err) {
		t.Errorf("client read = %v, want a clean end (going away)", err)
	}
}
