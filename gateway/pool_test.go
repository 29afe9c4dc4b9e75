package gateway_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/gateway"
	"golang.org/x/crypto/ssh"
)

func TestPoolSharesOneDial(t *testing.T) {
	sb := newSandbox(t)
	p := sb.pool(t)
	const n = 50
	clients := make([]*ssh.Client, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := p.Client(ctx(t), sandboxID)
			if err != nil {
				t.Error(err)
			}
			clients[i] = c
		})
	}
	wg.Wait()
	for _, c := range clients {
		if c != clients[0] {
			t.Fatal("concurrent callers got different connections")
		}
	}
	if d := sb.dials.Load(); d != 1 {
		t.Errorf("%d dials, want 1", d)
	}
}

func TestPoolReconnectsAfterAgentRestart(t *testing.T) {
	sb := newSandbox(t)
	p := sb.pool(t)
	first, err := p.Client(ctx(t), sandboxID)
	if err != nil {
		t.Fatal(err)
	}
	// One exec first: gliderlabs/ssh tracks a connection (so that Close
	// closes it) only a moment after the client's handshake returns.
	exec(t, first, gateway.ExecRequest{Command: []string{"true"}})
	if err := sb.agent.Close(); err != nil {
		t.Fatal(err)
	}
	first.Wait() // the agent closed the connection
	sb.start(t)  // same etc directory, so the same host key

	// Do retries once on a connection that turned out dead, so the first
	// exec after the restart already works.
	var res *gateway.ExecResult
	var last *ssh.Client
	err = p.Do(ctx(t), sandboxID, func(c *ssh.Client) error {
		last = c
		var err error
		res, err = gateway.Exec(ctx(t), c, gateway.ExecRequest{Command: []string{"echo", "back"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout.Data) != "back\n" || last == first {
		t.Errorf("stdout %q (on the old connection: %v)", res.Stdout.Data, last == first)
	}
	if d := sb.dials.Load(); d != 2 {
		t.Errorf("%d dials, want 2", d)
	}
}

func TestPoolDoRetriesADeadConnection(t *testing.T) {
	sb := newSandbox(t)
	p := sb.pool(t)
	first, err := p.Client(ctx(t), sandboxID)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = p.Do(ctx(t), sandboxID, func(c *ssh.Client) error {
		calls++
		if calls == 1 {
			c.Close() // dies between Client and the first channel
		}
		_, err := gateway.Exec(ctx(t), c, gateway.ExecRequest{Command: []string{"true"}})
		return err
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2", calls)
	}
	if c, _ := p.Client(ctx(t), sandboxID); c == first {
		t.Error("the dead connection is still pooled")
	}
}

func TestPoolRefusesAWrongHostKey(t *testing.T) {
	sb := newSandbox(t)
	other, err := hostkey.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := sb.pool(t, other)
	for range 2 { // failures are not cached: each call dials again
		_, err = p.Client(ctx(t), sandboxID)
		wantCode(t, err, codepod.EUNAVAILABLE, "host key", "does not match")
	}
	if d := sb.dials.Load(); d != 2 {
		t.Errorf("%d dials, want 2", d)
	}
	_, err = sb.pool(t, "").Client(ctx(t), sandboxID)
	wantCode(t, err, codepod.EUNAVAILABLE, "host key", "not known")
}

func TestPoolRefusedToken(t *testing.T) {
	sb := newSandbox(t)
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sb.socket)
		},
		Auth: func(context.Context, string) (ssh.AuthMethod, string, error) {
			return ssh.Password("cps_forged"), sb.fingerprint, nil
		},
	})
	defer p.Close()
	_, err := p.Client(ctx(t), sandboxID)
	wantCode(t, err, codepod.EUNAVAILABLE, "refused")
}

func TestPoolForget(t *testing.T) {
	sb := newSandbox(t)
	p := sb.pool(t)
	c, err := p.Client(ctx(t), sandboxID)
	if err != nil {
		t.Fatal(err)
	}
	p.Forget(sandboxID)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Forget did not close the connection")
	}
	if p.Len() != 0 {
		t.Errorf("pool holds %d entries after Forget", p.Len())
	}
	if c2, err := p.Client(ctx(t), sandboxID); err != nil || c2 == c {
		t.Errorf("Client after Forget: %v (same connection: %v)", err, c2 == c)
	}
}

func TestPoolDialErrorsAreReturnedAndNotCached(t *testing.T) {
	sb := newSandbox(t)
	fail := true
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			if fail {
				return nil, codepod.Errorf(codepod.ETIMEOUT, "runner did not answer within 10s")
			}
			return (&net.Dialer{}).DialContext(ctx, "unix", sb.socket)
		},
		Auth: func(_ context.Context, id string) (ssh.AuthMethod, string, error) {
			return ssh.Password(mint(sb, id)), sb.fingerprint, nil
		},
	})
	defer p.Close()
	_, err := p.Client(ctx(t), sandboxID)
	wantCode(t, err, codepod.ETIMEOUT, "runner did not answer")
	fail = false
	if _, err := p.Client(ctx(t), sandboxID); err != nil {
		t.Errorf("second Client: %v", err)
	}
}

func TestPoolCloseCancelsADial(t *testing.T) {
	started := make(chan struct{})
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		},
		Auth: func(context.Context, string) (ssh.AuthMethod, string, error) {
			return ssh.Password("x"), "SHA256:x", nil
		},
	})
	errc := make(chan error, 1)
	go func() { _, err := p.Client(context.Background(), sandboxID); errc <- err }()
	<-started
	p.Close()
	if err := <-errc; err == nil {
		t.Error("Client succeeded on a closed pool")
	}
	if _, err := p.Client(context.Background(), sandboxID); err == nil {
		t.Error("Client after Close succeeded")
	}
}

func TestPoolCallerContext(t *testing.T) {
	release := make(chan struct{})
	p := gateway.NewPool(gateway.PoolConfig{
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			<-release
			return nil, errors.New("no")
		},
		Auth: func(context.Context, string) (ssh.AuthMethod, string, error) {
			return ssh.Password("x"), "SHA256:x", nil
		},
	})
	defer p.Close()
	defer close(release)
	cx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.Client(cx, sandboxID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the caller's deadline", err)
	}
}

// Prepare dials with no caller waiting (the server calls it when a warm
// create's result arrives); the first Client finds that connection.
func TestPoolPrepareDialsAheadOfTheFirstCall(t *testing.T) {
	sb := newSandbox(t)
	p := sb.pool(t)
	p.Prepare(sandboxID)
	p.Prepare(sandboxID) // a dial under way is not started again
	// The dial happens with no caller.
	cx := ctx(t)
	for sb.dials.Load() == 0 {
		select {
		case <-cx.Done():
			t.Fatal("Prepare did not dial")
		case <-time.After(time.Millisecond):
		}
	}
	c, err := p.Client(cx, sandboxID)
	if err != nil {
		t.Fatal(err)
	}
	p.Prepare(sandboxID) // nor is a live connection replaced
	again, err := p.Client(ctx(t), sandboxID)
	if err != nil {
		t.Fatal(err)
	}
	if again != c {
		t.Error("the connection Prepare made was not the one callers got")
	}
	if d := sb.dials.Load(); d != 1 {
		t.Errorf("%d dials, want 1", d)
	}
}
