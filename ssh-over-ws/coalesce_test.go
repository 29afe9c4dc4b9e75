package sshws_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

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
