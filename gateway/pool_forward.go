package gateway

import (
	"context"
	"errors"
	"net"
	"sync"

	"golang.org/x/crypto/ssh"
)

// DialTCP opens a direct-tcpip channel to addr (host:port as the agent
// sees it, e.g. 127.0.0.1:8000) on sandboxID's pooled connection. The
// connection counts as in use until the returned conn is closed, so the
// idle janitor never cuts a long-lived stream (a proxied WebSocket). A
// pooled connection found dead is discarded and the dial tried once more
// on a fresh one; a refusal by the agent (nothing listens) is returned as
// it is.
func (p *Pool) DialTCP(ctx context.Context, sandboxID, addr string) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.Client(ctx, sandboxID)
		if err != nil {
			return nil, err
		}
		e := p.acquire(sandboxID, c)
		conn, err := c.DialContext(ctx, "tcp", addr)
		if err == nil {
			return &pooledConn{Conn: conn, release: func() { p.release(e) }}, nil
		}
		p.release(e)
		var oce *ssh.OpenChannelError
		if attempt > 0 || errors.As(err, &oce) || ctx.Err() != nil {
			return nil, err
		}
		p.Discard(sandboxID, c)
	}
}

// pooledConn releases its pooled connection once, when closed.
type pooledConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *pooledConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
