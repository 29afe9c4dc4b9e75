package sshws_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// patience bounds waits for things that should happen promptly; it is
// generous so that slow machines do not fail tests that behave.
const patience = 5 * time.Second

// wsServer serves WebSockets: each upgrade is accepted and handed to
// serve; the handler returns when serve does, as a real server's must.
func wsServer(t testing.TB, opts sshws.AcceptOptions, serve func(r *http.Request, conn net.Conn)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(wsHandler(t, opts, serve))
	t.Cleanup(srv.Close)
	return srv
}

func wsHandler(t testing.TB, opts sshws.AcceptOptions, serve func(r *http.Request, conn net.Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := sshws.Accept(w, r, opts)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.Close()
		serve(r, conn)
	})
}

// wsURL turns an httptest server's URL into a ws:// one.
func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dial dials url and closes the conn when the test ends.
func dial(t testing.TB, url string, opts sshws.DialOptions) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if opts.HTTPClient == nil {
		opts.HTTPClient = testClient(t)
	}
	conn, err := sshws.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// testClient is a client without proxy whose idle connections are closed
// at the end of the test (so no goroutine outlives it).
func testClient(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// echo copies conn back into itself until it ends.
func echo(_ *http.Request, conn net.Conn) { io.Copy(conn, conn) }

// randomBytes returns n random bytes.
func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// roundTrip writes data to conn while reading as much back, and returns
// what came back.
func roundTrip(t *testing.T, conn net.Conn, data []byte) []byte {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1<<20) // messages well over the 32 KiB default limit
			if _, err := conn.Write(rest[:n]); err != nil {
				werr <- err
				return
			}
			rest = rest[n:]
		}
		werr <- nil
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	return got
}

// tcpServer listens on loopback and runs serve for each connection until
// the test ends.
func tcpServer(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); serve(c) })
		}
	})
	return ln.Addr().String()
}

// splicer accepts a WebSocket and splices it to a new TCP connection to
// addr; Splice's result goes to results.
func splicer(t testing.TB, addr string, results chan<- error) func(*http.Request, net.Conn) {
	return func(r *http.Request, conn net.Conn) {
		tcp, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("dial %s: %v", addr, err)
			return
		}
		err = sshws.Splice(r.Context(), conn, tcp)
		if results != nil {
			results <- err
		}
	}
}

// relay is a TCP relay between a client and target that can turn into a
// black hole (a peer that vanished without a word) or kill its
// connections (RST).
type relay struct {
	addr   string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []*net.TCPConn
}

func newRelay(t *testing.T, target string) *relay {
	rl := &relay{}
	rl.addr = tcpServer(t, func(c net.Conn) {
		up, err := net.Dial("tcp", target)
		if err != nil {
			t.Errorf("relay dial: %v", err)
			return
		}
		defer up.Close()
		rl.track(c, up)
		var wg sync.WaitGroup
		wg.Go(func() { rl.copy(up, c) })
		rl.copy(c, up)
		wg.Wait()
	})
	t.Cleanup(rl.kill) // so the relay's goroutines end
	return rl
}

func (rl *relay) track(cs ...net.Conn) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, c := range cs {
		rl.conns = append(rl.conns, c.(*net.TCPConn))
	}
}

// copy forwards src to dst, dropping everything once frozen (a closed
// side then stays unnoticed on the other).
func (rl *relay) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			if !rl.frozen.Load() {
				dst.Close()
			}
			return
		}
		if rl.frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// kill resets every connection through the relay.
func (rl *relay) kill() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, c := range rl.conns {
		c.SetLinger(0)
		c.Close()
	}
}

// within waits for ch to deliver, or fails the test after patience.
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("%s: nothing after %s", what, patience)
		panic("unreachable")
	}
}

// readErr reads conn until it fails and sends the error.
func readErr(conn net.Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, conn)
		if err == nil {
			err = io.EOF // io.Copy hides it
		}
		ch <- err
	}()
	return ch
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
