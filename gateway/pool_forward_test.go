package gateway_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestDialTCPHoldsTheConnection: a forwarded stream reaches a listener
// through the agent, keeps its pooled connection from the idle janitor
// while open, and lets it go when closed; a port nobody listens on is an
// error, not a hang.
func TestDialTCPHoldsTheConnection(t *testing.T) {
	sb := newSandbox(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	p := sb.idlePool(t, clk, time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	conn, err := p.DialTCP(context.Background(), sandboxID, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the channel: %q %v", buf, err)
	}
	if n := p.CloseIdle(clk.Add(time.Hour)); n != 0 {
		t.Fatalf("closed %d connections while a forwarded stream was open", n)
	}
	conn.Close()
	conn.Close() // a second Close releases nothing more
	if n := p.CloseIdle(clk.Add(2 * time.Minute)); n != 1 {
		t.Fatalf("closed %d connections after the stream ended, want 1", n)
	}

	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln2.Addr().String()
	ln2.Close()
	if c, err := p.DialTCP(context.Background(), sandboxID, addr); err == nil {
		c.Close()
		t.Fatal("a dial to a closed port succeeded")
	}
}
