package sshws_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// countingConn counts the writes made to a client's socket.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A 64 KiB Write on a dialled conn reaches the socket as one write (the
// masked frame whole), not as the library's sixteen 4 KiB flushes, and
// arrives intact.
func TestDialWritesEachMessageAtOnce(t *testing.T) {
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, echo)
	var writes atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}}
	t.Cleanup(tr.CloseIdleConnections)
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{HTTPClient: &http.Client{Transport: tr}, PingInterval: -1})

	msg := randomBytes(t, 64<<10)
	const messages = 20
	before := writes.Load() // the upgrade request
	got := make([]byte, len(msg))
	for range messages {
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("the echo differs from what was sent")
		}
	}
	if n := writes.Load() - before; n != messages {
		t.Errorf("%d messages of 64 KiB took %d writes to the socket, want one each", messages, n)
	}
}

// countingListener counts the writes made to the conns it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

// An accepted conn also writes a 64 KiB message to its socket at once
// (the library would flush the header with the first 4 KiB, then the
// rest), and a dialled conn reads it whole in one Read (with the messages
// after it that have arrived whole, when they fit).
func TestAcceptWritesEachMessageAtOnce(t *testing.T) {
	var writes atomic.Int64
	msg := randomBytes(t, 64<<10)
	const messages = 20
	sent := make(chan int64, 1)
	srv := httptest.NewUnstartedServer(wsHandler(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		before := writes.Load()
		for range messages {
			if _, err := conn.Write(msg); err != nil {
				t.Error(err)
				return
			}
		}
		sent <- writes.Load() - before
		io.Copy(io.Discard, conn)
	}))
	srv.Listener = countingListener{srv.Listener, &writes}
	srv.Start()
	t.Cleanup(srv.Close)
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{PingInterval: -1})
	buf := make([]byte, 256<<10)
	for i := 0; i < messages; {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n%len(msg) != 0 {
			t.Fatalf("read of message %d: %d bytes, want whole %d-byte messages", i, n, len(msg))
		}
		for ; n > 0; n -= len(msg) {
			if !bytes.Equal(buf[n-len(msg):n], msg) {
				t.Fatalf("message %d differs", i)
			}
			i++
		}
	}
	if n := <-sent; n != messages {
		t.Errorf("%d messages of 64 KiB took %d writes to the socket, want one each", messages, n)
	}
}

// A read deadline bounds Reads without breaking a message read in many
// pieces (the message's reader outlives each Read), and one that passes
// with nothing to read ends the Read with an error.
func TestReadDeadline(t *testing.T) {
	msg := randomBytes(t, 64<<10)
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		conn.Write(msg)
		io.Copy(io.Discard, conn)
	})
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{PingInterval: -1})
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 1000)
	for len(got) < len(msg) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("read back differs")
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := within(t, "a read past its deadline", readErr(conn)); err == nil {
		t.Fatal("a read past its deadline returned no error")
	}
}

// readCountingListener counts the reads made from the conns it accepts.
type readCountingListener struct {
	net.Listener
	reads *atomic.Int64
}

func (l readCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return readCountingConn{c, l.reads}, nil
}

type readCountingConn struct {
	net.Conn
	reads *atomic.Int64
}

func (c readCountingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// An accepted conn takes a message of an SSH packet's size (32 KiB) that
// has arrived in one read from the socket (its read buffer holds the
// header and the payload), not in two (net/http's 4 KiB buffer: the
// header with 4 KiB, then the rest).
func TestAcceptReadsEachMessageAtOnce(t *testing.T) {
	var reads atomic.Int64
	msg := randomBytes(t, 32<<10)
	const messages = 20
	arrived := make(chan struct{})
	took := make(chan int64, 1)
	srv := httptest.NewUnstartedServer(wsHandler(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		buf := make([]byte, 256<<10)
		var total int64
		for i := range messages {
			<-arrived // the client's write returned: on loopback the frame is here
			before := reads.Load()
			n, err := io.ReadFull(conn, buf[:len(msg)])
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(buf[:n], msg) {
				t.Errorf("message %d differs", i)
			}
			total += reads.Load() - before
		}
		took <- total
		io.Copy(io.Discard, conn)
	}))
	srv.Listener = readCountingListener{srv.Listener, &reads}
	srv.Start()
	t.Cleanup(srv.Close)
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{PingInterval: -1})
	for range messages {
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		arrived <- struct{}{}
	}
	// A message cut by the network (it should not be, on loopback) costs
	// one more read; 4 KiB buffering costs one more for every message.
	if n := <-took; n > messages+messages/4 {
		t.Errorf("%d messages of 32 KiB took %d reads from the socket, want about one each", messages, n)
	}
}

// A dialled conn (a runner's end of a tunnel) takes a 32 KiB message that
// has arrived in one read from the socket, not two (the library's 4 KiB
// buffer alone: the header with 4 KiB, then the rest).
func TestDialReadsEachMessageAtOnce(t *testing.T) {
	msg := randomBytes(t, 32<<10)
	const messages = 20
	sent := make(chan struct{})
	srv := wsServer(t, sshws.AcceptOptions{PingInterval: -1}, func(_ *http.Request, conn net.Conn) {
		for range messages {
			if _, err := conn.Write(msg); err != nil {
				t.Error(err)
				return
			}
			sent <- struct{}{}
		}
		io.Copy(io.Discard, conn)
	})
	var reads atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return readCountingConn{c, &reads}, nil
	}}
	t.Cleanup(tr.CloseIdleConnections)
	conn := dial(t, wsURL(srv, "/"), sshws.DialOptions{HTTPClient: &http.Client{Transport: tr}, PingInterval: -1})
	buf := make([]byte, 256<<10)
	var total int64
	for i := range messages {
		<-sent // the server's write returned: on loopback the frame is here
		before := reads.Load()
		if _, err := io.ReadFull(conn, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:len(msg)], msg) {
			t.Fatalf("message %d differs", i)
		}
		total += reads.Load() - before
	}
	if total > messages+messages/4 {
		t.Errorf("%d messages of 32 KiB took %d reads from the socket, want about one each", messages, total)
	}
}
