package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/codepod-dev/codepod"
)

// Broker pairs the two halves of a tunnel inside one server replica: a
// request that waits for a sandbox's runner (Expect, then Wait) and the
// runner's WebSocket that dials back for it (Deliver). It holds no
// goroutines; a tunnel that nobody delivers is gone once its waiter gives
// up or cancels.
type Broker struct {
	// EarlyWait is how long Deliver holds a dial-back that arrived before
	// its Expect (default EarlyDeliveryWait). Set it before use.
	EarlyWait time.Duration

	log *slog.Logger

	mu      sync.Mutex
	pending map[string]*Pending
	// early holds, per tunnel id, a channel that Expect closes: a runner
	// whose dial-back overtook the Expect waits on it (see Deliver).
	early map[string]chan struct{}
}

// EarlyDeliveryWait is how long Deliver holds a runner whose dial-back
// arrived before the Expect for its tunnel: the tunnel job is enqueued
// before the waiter registers, and a fast runner can win that race.
const EarlyDeliveryWait = 2 * time.Second

// NewBroker returns an empty broker. A nil logger discards.
func NewBroker(logger *slog.Logger) *Broker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Broker{EarlyWait: EarlyDeliveryWait, log: logger, pending: map[string]*Pending{}, early: map[string]chan struct{}{}}
}

// Pending is one expected tunnel: the runner runnerID is to dial back with
// tunnelID. Wait for the runner's conn, or Cancel.
type Pending struct {
	b        *Broker
	tunnelID string
	runnerID string
	created  time.Time
	// conn receives the delivered conn; buffered, written at most once.
	conn chan net.Conn
}

// Expect registers a tunnel that runnerID will dial back for. The tunnel id
// must be unguessable (it names the rendezvous); a second Expect with the
// same id replaces, and cancels, the first.
func (b *Broker) Expect(tunnelID, runnerID string) *Pending {
	p := &Pending{b: b, tunnelID: tunnelID, runnerID: runnerID, created: time.Now(), conn: make(chan net.Conn, 1)}
	b.mu.Lock()
	old := b.pending[tunnelID]
	b.pending[tunnelID] = p
	if ch, ok := b.early[tunnelID]; ok {
		close(ch)
		delete(b.early, tunnelID)
	}
	b.mu.Unlock()
	if old != nil {
		old.drain()
	}
	return p
}

// Len is the number of tunnels waiting for their runner.
func (b *Broker) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Wait returns the runner's conn once it has dialed back. When ctx ends
// first, the tunnel is cancelled and Wait returns an ETIMEOUT *codepod.Error
// ("runner did not answer within 10s") for a deadline, or ctx's error.
//
// The returned conn is the caller's to close; closing it releases the
// runner's HTTP handler that blocks in Deliver's done channel.
func (p *Pending) Wait(ctx context.Context) (net.Conn, error) {
	limit := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		limit = time.Until(d)
	}
	select {
	case c := <-p.conn:
		return c, nil
	case <-ctx.Done():
	}
	p.Cancel() // closes a conn delivered while we gave up
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, codepod.Errorf(codepod.ETIMEOUT, "runner did not answer within %s", roundLimit(limit))
	}
	return nil, ctx.Err()
}

// roundLimit renders a wait limit for a message: whole seconds, or
// milliseconds under a second.
func roundLimit(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// Cancel forgets the tunnel. A conn the runner delivered that nobody took
// is closed. Cancel is idempotent and safe after Wait returned a conn (it
// then does nothing to that conn).
func (p *Pending) Cancel() {
	p.b.mu.Lock()
	if p.b.pending[p.tunnelID] == p {
		delete(p.b.pending, p.tunnelID)
	}
	p.b.mu.Unlock()
	p.drain()
}

// drain closes a delivered conn that was never taken by Wait.
func (p *Pending) drain() {
	select {
	case c := <-p.conn:
		c.Close()
	default:
	}
}

// Deliver hands the runner's conn to the waiting request. The tunnel must
// be expected and belong to runnerID: an unknown or expired tunnel is
// ENOTFOUND, another runner's EFORBIDDEN, and conn is then left to the
// caller. A dial-back that arrives before its Expect is held up to
// EarlyWait. On success, done is closed once the conn has been
// closed by whoever uses it (or by the broker, when the waiter gave up at
// the same moment); the runner's HTTP handler blocks on it, since its
// WebSocket ends when the handler returns.
func (b *Broker) Deliver(tunnelID, runnerID string, conn net.Conn) (done <-chan struct{}, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.expectedLocked(tunnelID, runnerID)
	if err != nil {
		return nil, err
	}
	delete(b.pending, tunnelID)
	dc := &doneConn{Conn: conn, done: make(chan struct{})}
	p.conn <- dc // buffered and written once: never blocks
	b.log.Debug("tunnel delivered", "tunnel", tunnelID, "runner", runnerID, "wait_ms", time.Since(p.created).Milliseconds())
	return dc.done, nil
}

// Expecting checks, before a runner's dial-back is upgraded, that tunnelID
// is expected from runnerID (holding an early one up to EarlyWait), so a
// stale dial-back can be refused with a plain HTTP error. Deliver checks
// again: the waiter may give up in between.
func (b *Broker) Expecting(tunnelID, runnerID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.expectedLocked(tunnelID, runnerID)
	return err
}

// expectedLocked returns the Pending of tunnelID (waiting up to EarlyWait
// for an early dial-back) if runnerID is the runner it expects.
func (b *Broker) expectedLocked(tunnelID, runnerID string) (*Pending, error) {
	p := b.pending[tunnelID]
	if p == nil {
		p = b.awaitExpectLocked(tunnelID)
	}
	switch {
	case p == nil:
		return nil, codepod.Errorf(codepod.ENOTFOUND, "tunnel %s is unknown or expired", tunnelID)
	case p.runnerID != runnerID:
		b.log.Warn("tunnel dial-back by the wrong runner", "tunnel", tunnelID, "runner", runnerID, "expected", p.runnerID)
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "tunnel %s belongs to another runner", tunnelID)
	}
	return p, nil
}

// awaitExpectLocked waits, with b.mu released, up to b.EarlyWait for
// tunnelID to be expected, and returns its Pending or nil.
func (b *Broker) awaitExpectLocked(tunnelID string) *Pending {
	ch, ok := b.early[tunnelID]
	if !ok {
		ch = make(chan struct{})
		b.early[tunnelID] = ch
	}
	b.mu.Unlock()
	t := time.NewTimer(b.EarlyWait)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	b.mu.Lock()
	if b.early[tunnelID] == ch {
		delete(b.early, tunnelID)
	}
	return b.pending[tunnelID]
}

// doneConn closes done when it is closed.
type doneConn struct {
	net.Conn
	once sync.Once
	done chan struct{}
}

func (c *doneConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// Unwrap returns the runner's conn, e.g. for sshws.CloseWithReason.
func (c *doneConn) Unwrap() net.Conn { return c.Conn }
