package sshws_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"

	"github.com/coder/websocket"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// x/crypto/ssh writes a 32 KiB packet as a 4 KiB write and a 28 KiB one:
// two messages on a tunnel conn.
const pieceA, pieceB = 4 << 10, 28<<10 + 52

// An accepted conn (the server's end of a client's tunnel, or of a
// runner's) returns, in one Read, a message and the next one when the next
// has arrived whole and fits: a relay passes the two pieces of an SSH
// packet on as one message. One that does not fit waits for the next Read.
func TestAcceptJoinsMessagesThatArrivedWhole(t *testing.T) {
	a, b := randomBytes(t, pieceA), randomBytes(t, pieceB)
	sent := make(chan struct{})
	got := make(chan []int, 1)
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		var sizes []int
		buf := make([]byte, 64<<10)
		<-sent
		n, err := conn.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], append(append([]byte{}, a...), b...)) {
			t.Errorf("first read: %d bytes, %v; want both messages, %d bytes", n, err, len(a)+len(b))
		}
		sizes = append(sizes, n)
		sent <- struct{}{} // read: the client may send the next two
		<-sent
		for range 2 { // room for the first message only
			n, err := conn.Read(buf[:pieceA+1000])
			if err != nil {
				t.Error(err)
			}
			sizes = append(sizes, n)
		}
		got <- sizes
		sent <- struct{}{}
		io.Copy(io.Discard, conn)
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{PingInterval: -1})
	for range 2 {
		for _, m := range [][]byte{a, b} {
			if _, err := conn.Write(m); err != nil {
				t.Fatal(err)
			}
		}
		sent <- struct{}{} // both writes returned: on loopback the frames are there
		<-sent
	}
	sizes := within(t, "the server's reads", got)
	if want := []int{pieceA + pieceB, pieceA, pieceA + 1000}; !slices.Equal(sizes, want) {
		t.Errorf("reads returned %v bytes, want %v", sizes, want)
	}
}

// A dialled conn (a runner's end of a tunnel) joins messages as an
// accepted one does: the runner writes an SSH packet the server sent in two
// pieces to the agent's socket at once.
func TestDialJoinsMessagesThatArrivedWhole(t *testing.T) {
	a, b := randomBytes(t, pieceA), randomBytes(t, pieceB)
	sent := make(chan struct{})
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		for _, m := range [][]byte{a, b} {
			if _, err := conn.Write(m); err != nil {
				t.Error(err)
				return
			}
		}
		close(sent)
		io.Copy(io.Discard, conn)
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{PingInterval: -1})
	<-sent
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], append(append([]byte{}, a...), b...)) {
		t.Errorf("read %d bytes, %v; want both messages, %d bytes", n, err, len(a)+len(b))
	}
}

// Read never waits for a next message that has not arrived whole: here
// the next message is open (its first fragment sent, not its last), and
// Read returns the message before it alone.
func TestReadDoesNotWaitForAnUnfinishedMessage(t *testing.T) {
	a := randomBytes(t, pieceA)
	sent := make(chan struct{})
	first := make(chan int, 1)
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		<-sent
		buf := make([]byte, 64<<10)
		n, err := conn.Read(buf)
		if err != nil {
			t.Error(err)
		}
		first <- n
		io.Copy(io.Discard, conn)
	})
	ctx := context.Background()
	c := dialRaw(t, ctx, wsURL(srv, "/"), testClient(t))
	if err := c.Write(ctx, websocket.MessageBinary, a); err != nil {
		t.Fatal(err)
	}
	w, err := c.Writer(ctx, websocket.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("the first fragment")); err != nil { // a frame without FIN
		t.Fatal(err)
	}
	close(sent)
	if n := within(t, "the first read", first); n != len(a) {
		t.Errorf("first read returned %d bytes, want the first message's %d", n, len(a))
	}
	w.Close()
}
