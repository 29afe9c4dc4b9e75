package sshws_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

func TestEchoTenMegabytes(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, echo)
	// The dial context bounds the handshake only: cancelling it afterwards
	// must not end the stream.
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := sshws.Dial(ctx, wsURL(srv, "/echo"), sshws.DialOptions{HTTPClient: testClient(t)})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	data := randomBytes(t, 10<<20)
	if got := roundTrip(t, conn, data); !bytes.Equal(got, data) {
		t.Fatal("the 10 MB that came back differ from those sent")
	}
}

func TestCloseReasonReachesReader(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, func(_ *http.Request, conn net.Conn) {
		if err := sshws.CloseWithReason(conn, 4404, "sandbox not running"); err != nil {
			t.Errorf("close with reason: %v", err)
		}
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})

	err := within(t, "read after the server closed", readErr(conn))
	var ce *sshws.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("read error = %v (%T), want a *sshws.CloseError", err, err)
	}
	if ce.Code != 4404 || ce.Reason != "sandbox not running" {
		t.Errorf("close error = %d %q, want 4404 %q", ce.Code, ce.Reason, "sandbox not running")
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.As(err, &ce) {
		t.Errorf("second read error = %v, want the close error again", err)
	}
	if _, err := conn.Write([]byte("x")); !errors.As(err, &ce) {
		t.Errorf("write after close = %v, want the close error", err)
	}
}

func TestNormalCloseReadsAsEOF(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, func(_ *http.Request, conn net.Conn) {
		conn.Write([]byte("bye"))
		conn.Close()
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "bye" {
		t.Fatalf("ReadAll = %q, %v; want \"bye\" and a clean end", got, err)
	}
}

func TestLongCloseReasonIsCut(t *testing.T) {
	reason := strings.Repeat("é", 100) // 200 bytes
	srv := wsServer(t, sshws.AcceptOptions{}, func(_ *http.Request, conn net.Conn) {
		sshws.CloseWithReason(conn, 4000, reason)
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})
	var ce *sshws.CloseError
	if err := within(t, "read", readErr(conn)); !errors.As(err, &ce) {
		t.Fatalf("read error = %v, want a *sshws.CloseError", err)
	}
	if ce.Code != 4000 || len(ce.Reason) == 0 || len(ce.Reason) > 123 || !strings.HasPrefix(reason, ce.Reason) {
		t.Errorf("close error = %d %q, want 4000 and the reason's first ≤123 bytes", ce.Code, ce.Reason)
	}
}

func TestVanishedPeerIsDetectedByPings(t *testing.T) {
	fast := 100 * time.Millisecond
	served := make(chan error, 1)
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: fast}, func(_ *http.Request, conn net.Conn) {
		_, err := io.Copy(conn, conn)
		served <- err
	})
	rl := newRelay(t, strings.TrimPrefix(srv.URL, "http://"))
	conn := dial(t, "ws://"+rl.addr+"/", sshws.DialOptions{PingInterval: fast})
	if got := roundTrip(t, conn, []byte("alive")); string(got) != "alive" {
		t.Fatalf("echo = %q", got)
	}

	rl.frozen.Store(true) // from now on both peers hear nothing, but no socket closes

	err := within(t, "client read after the server vanished", readErr(conn))
	if !errors.Is(err, sshws.ErrPeerUnresponsive) {
		t.Errorf("client read error = %v, want ErrPeerUnresponsive", err)
	}
	if err := within(t, "server copy after the client vanished", served); !errors.Is(err, sshws.ErrPeerUnresponsive) {
		t.Errorf("server copy error = %v, want ErrPeerUnresponsive", err)
	}
}

func TestWithoutPingsAVanishedPeerGoesUnnoticed(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, echo)
	rl := newRelay(t, strings.TrimPrefix(srv.URL, "http://"))
	conn := dial(t, "ws://"+rl.addr+"/", sshws.DialOptions{PingInterval: -1})
	rl.frozen.Store(true)

	errc := readErr(conn)
	select {
	case err := <-errc:
		t.Fatalf("read ended (%v) though nothing told it the peer was gone", err)
	case <-time.After(500 * time.Millisecond):
	}
	rl.kill()
	within(t, "read after the relay was killed", errc)
}

func TestKilledConnectionIsAnError(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, echo)
	rl := newRelay(t, strings.TrimPrefix(srv.URL, "http://"))
	conn := dial(t, "ws://"+rl.addr+"/", sshws.DialOptions{})
	roundTrip(t, conn, []byte("x"))
	errc := readErr(conn)
	rl.kill()
	err := within(t, "read after the connection was reset", errc)
	if err == nil || isEOF(err) {
		t.Errorf("read error = %v, want an error that is not a clean end of stream", err)
	}
}

func TestContextEndsConn(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, echo)
	client := testClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw := dialRaw(t, ctx, wsURL(srv, "/"), client)
	conn := sshws.NetConn(ctx, raw)
	defer conn.Close()
	errc := readErr(conn)
	cancel()
	if err := within(t, "read after ctx ended", errc); err == nil || isEOF(err) {
		t.Errorf("read error = %v, want an error", err)
	}
}

func TestCloseWithReasonNeedsWebSocket(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	if err := sshws.CloseWithReason(a, 4000, "x"); err == nil {
		t.Error("CloseWithReason on a net.Pipe conn returned nil")
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("the pipe is still open after CloseWithReason")
	}
}

func TestCloseWithUnsendableCode(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{}, func(_ *http.Request, conn net.Conn) {
		if err := sshws.CloseWithReason(conn, sshws.StatusAbnormalClosure, "oops"); err == nil {
			t.Error("CloseWithReason(1006) returned nil")
		}
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{})
	var ce *sshws.CloseError
	if err := within(t, "read", readErr(conn)); !errors.As(err, &ce) || ce.Code != 1011 || ce.Reason != "oops" {
		t.Errorf("read error = %v, want 1011 \"oops\"", err)
	}
}
