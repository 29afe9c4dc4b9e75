package sshws

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pingLoop pings the peer every interval until ctx ends or the connection
// fails.
func (c *wsConn) pingLoop(ctx context.Context, interval, timeout time.Duration) {
	defer close(c.pingDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.pingOnce(ctx, timeout) {
			return
		}
	}
}

// pingOnce sends one ping and reports whether to keep pinging. A missing
// pong only condemns the peer when a Read was waiting the whole time and
// returned nothing: only a reader processes pongs, and a Read that returns
// data proves the peer alive. Otherwise the ping is inconclusive.
func (c *wsConn) pingOnce(ctx context.Context, timeout time.Duration) bool {
	done := c.reads.Load()
	watched := c.reading.Load() > 0
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := c.ws.Ping(pctx)
	switch {
	case err == nil:
		return true
	case ctx.Err() != nil:
		return false // the conn is closing
	case !errors.Is(err, context.DeadlineExceeded):
		return false // the connection broke; its reader reports how
	case !watched || c.reads.Load() != done:
		return true
	}
	c.pingFailed.Store(true)
	c.setSticky(fmt.Errorf("no pong within %s: %w", timeout, ErrPeerUnresponsive))
	c.ws.CloseNow()
	return false
}
