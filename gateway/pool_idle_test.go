package gateway_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
	"golang.org/x/crypto/ssh"
)

// clock is a manual clock for the pool's idleness.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func (sb *sandbox) idlePool(t *testing.T, clk *clock, idle time.Duration) *gateway.Pool {
	t.Helper()
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, id string) (net.Conn, error) {
			sb.dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, "unix", sb.socket)
		},
		Auth: func(_ context.Context, id string) (ssh.AuthMethod, string, error) {
			return ssh.Password(mint(sb, id)), sb.fingerprint, nil
		},
		IdleTimeout: idle,
		Now:         clk.Now,
		Logger:      testLogger(t, slog.LevelInfo),
	})
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPoolClosesIdleConnections(t *testing.T) {
	sb := newSandbox(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	p := sb.idlePool(t, clk, time.Minute)
	var first *ssh.Client
	if err := p.Do(ctx(t), sandboxID, func(c *ssh.Client) error { first = c; return nil }); err != nil {
		t.Fatal(err)
	}
	if n := p.CloseIdle(clk.Add(59 * time.Second)); n != 0 || p.Len() != 1 {
		t.Fatalf("closed %d (pool holds %d) before the idle timeout, want 0 (1)", n, p.Len())
	}
	if n := p.CloseIdle(clk.Add(time.Second)); n != 1 || p.Len() != 0 {
		t.Fatalf("closed %d (pool holds %d) at the idle timeout, want 1 (0)", n, p.Len())
	}
	first.Wait() // the idle connection is closed
	// The next call dials again and works.
	if err := p.Do(ctx(t), sandboxID, func(c *ssh.Client) error {
		if c == first {
			t.Error("the closed connection was handed out again")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d := sb.dials.Load(); d != 2 {
		t.Errorf("%d dials, want 2", d)
	}
}

func TestPoolKeepsAConnectionInUse(t *testing.T) {
	sb := newSandbox(t)
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	p := sb.idlePool(t, clk, time.Minute)
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.Do(context.Background(), sandboxID, func(c *ssh.Client) error {
			close(inside)
			<-release // a long terminal session
			return nil
		})
	}()
	<-inside
	if n := p.CloseIdle(clk.Add(time.Hour)); n != 0 {
		t.Fatalf("closed %d connections while a call ran on them", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Idle time counts from the end of the last call.
	if n := p.CloseIdle(clk.Add(30 * time.Second)); n != 0 {
		t.Fatalf("closed %d connections 30s after their last call", n)
	}
	if n := p.CloseIdle(clk.Add(30 * time.Second)); n != 1 {
		t.Fatalf("closed %d connections a minute after their last call, want 1", n)
	}
}

func TestPoolRetriesAnUnreachableAgent(t *testing.T) {
	sb := newSandbox(t)
	var attempts atomic.Int32
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			if attempts.Add(1) <= 3 { // the agent is not listening yet
				return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the agent of sandbox x is not reachable")
			}
			return (&net.Dialer{}).DialContext(ctx, "unix", sb.socket)
		},
		Auth: func(_ context.Context, id string) (ssh.AuthMethod, string, error) {
			return ssh.Password(mint(sb, id)), sb.fingerprint, nil
		},
		RetryFor: time.Minute,
	})
	defer p.Close()
	if _, err := p.Client(ctx(t), sandboxID); err != nil {
		t.Fatalf("Client after 3 unreachable dials: %v", err)
	}
	if n := attempts.Load(); n != 4 {
		t.Errorf("%d dials, want 4", n)
	}
}

func TestPoolDoesNotRetryAWrongHostKey(t *testing.T) {
	sb := newSandbox(t)
	var attempts atomic.Int32
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			attempts.Add(1)
			return (&net.Dialer{}).DialContext(ctx, "unix", sb.socket)
		},
		Auth: func(_ context.Context, id string) (ssh.AuthMethod, string, error) {
			return ssh.Password(mint(sb, id)), "SHA256:not-the-agent", nil
		},
		RetryFor: time.Minute,
	})
	defer p.Close()
	_, err := p.Client(ctx(t), sandboxID)
	wantCode(t, err, codepod.EUNAVAILABLE, "does not match")
	if n := attempts.Load(); n != 1 {
		t.Errorf("%d dials for a wrong host key, want 1 (no retry)", n)
	}
}
