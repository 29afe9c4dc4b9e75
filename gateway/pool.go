package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// PoolConfig says how the pool reaches and authenticates to an agent.
type PoolConfig struct {
	// Dial returns a byte stream to the agent of sandboxID (a tunnel, or a
	// Unix socket in tests). Errors should be *codepod.Error values a user
	// can act on (ETIMEOUT when the runner did not answer, ECONFLICT when
	// the sandbox is not running); they are returned as they are.
	Dial func(ctx context.Context, sandboxID string) (net.Conn, error)
	// Auth returns the SSH password (a token the agent accepts) and the
	// SHA256 fingerprint the agent's host key must have ("SHA256:…"). An
	// empty fingerprint refuses the connection: keys are never trusted on
	// first use.
	Auth func(ctx context.Context, sandboxID string) (auth ssh.AuthMethod, hostKeyFingerprint string, err error)
	// User is the SSH login name; default "root".
	User string
	// DialTimeout bounds dial plus handshake; default 20s. A dial is shared
	// by every caller waiting for the same sandbox, so it does not end with
	// any one caller's context.
	DialTimeout time.Duration
	// RetryFor is how long a dial keeps retrying while the agent is
	// unreachable (EUNAVAILABLE: a sandbox that just started, a tunnel that
	// failed once) before the error reaches callers; default 5s. Wrong host
	// keys, refused credentials and other errors are returned at once.
	RetryFor time.Duration
	// IdleTimeout closes a connection no call has used for this long;
	// default 5m. A connection in use (a running exec, a terminal) is never
	// idle.
	IdleTimeout time.Duration
	// Now is the clock for idleness; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Pool keeps one SSH connection per sandbox. Client dials once for many
// concurrent callers, and dials again after the connection died; Forget
// closes a sandbox's connection (when it stops or is deleted).
type Pool struct {
	cfg    PoolConfig
	log    *slog.Logger
	ctx    context.Context // ends on Close: cancels dials in flight
	cancel context.CancelFunc

	mu      sync.Mutex
	entries map[string]*entry
	closed  bool
	janitor bool           // closeIdleLoop runs
	wg      sync.WaitGroup // dials, connection watchers and closeIdleLoop
}

// entry is one sandbox's connection, or the dial that will make it.
type entry struct {
	ready  chan struct{} // closed when the dial finished
	client *ssh.Client   // set before ready closes, when err is nil
	err    error
	dead   chan struct{} // closed when the connection ended

	// Guarded by Pool.mu: calls running on the connection, and when the
	// last one ended (or the entry was made).
	active   int
	lastUsed time.Time
}

// NewPool returns an empty pool. Dial and Auth are required.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.User == "" {
		cfg.User = "root"
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 20 * time.Second
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 5 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{cfg: cfg, log: cfg.Logger, entries: map[string]*entry{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// errPoolClosed is returned by Client after Close.
var errPoolClosed = errors.New("ssh pool closed")

// Client returns the pooled connection to sandboxID's agent, dialing it if
// there is none or the last one died. Concurrent callers share one dial;
// each waits at most until its own ctx ends.
func (p *Pool) Client(ctx context.Context, sandboxID string) (*ssh.Client, error) {
	e, err := p.entry(sandboxID)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("connect to sandbox %s: %w", sandboxID, ctx.Err())
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.client, nil
}

// Prepare starts dialing sandboxID's connection when the pool has none
// (nor a dial under way), and returns at once: a later Client finds it
// made or joins its dial. The dial is the pool's own (it ends with Close,
// not with any caller); a failed one is dialed again by the next Client.
func (p *Pool) Prepare(sandboxID string) {
	p.entry(sandboxID) // an error is the pool's being closed: nothing to do
}

// entry returns the live or dialing entry of sandboxID, starting a dial
// when there is none.
func (p *Pool) entry(sandboxID string) (*entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	if e := p.entries[sandboxID]; e != nil && e.usable() {
		return e, nil
	}
	e := &entry{ready: make(chan struct{}), dead: make(chan struct{}), lastUsed: p.cfg.Now()}
	p.entries[sandboxID] = e
	if !p.janitor { // started with the first connection: an unused pool runs nothing
		p.janitor = true
		p.wg.Add(1)
		go p.closeIdleLoop()
	}
	p.wg.Add(1)
	go p.dial(sandboxID, e)
	return e, nil
}

// usable: still dialing, or dialed successfully and not dead.
func (e *entry) usable() bool {
	select {
	case <-e.ready:
	default:
		return true
	}
	if e.err != nil {
		return false
	}
	select {
	case <-e.dead:
		return false
	default:
		return true
	}
}

// Forget closes sandboxID's connection (or the one being dialed, once it
// is made). Sessions on it end. The next Client dials anew.
func (p *Pool) Forget(sandboxID string) {
	p.mu.Lock()
	e := p.entries[sandboxID]
	delete(p.entries, sandboxID)
	p.mu.Unlock()
	if e != nil {
		e.close()
	}
}

// Discard drops c if it is still sandboxID's pooled connection, for a
// caller that found it broken before its Wait noticed.
func (p *Pool) Discard(sandboxID string, c *ssh.Client) {
	p.mu.Lock()
	e := p.entries[sandboxID]
	if e == nil || !isReady(e) || e.client != c {
		p.mu.Unlock()
		return
	}
	delete(p.entries, sandboxID)
	p.mu.Unlock()
	e.close()
}

func isReady(e *entry) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// close closes the entry's connection once its dial finished; a dial still
// running sees the entry gone from the map and closes what it made.
func (e *entry) close() {
	if isReady(e) && e.client != nil {
		e.client.Close()
	}
}

// Len is the number of sandboxes with a connection or a dial in flight.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// Close closes every connection, cancels dials and waits for the pool's
// goroutines. Client fails afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := p.entries
	p.entries = map[string]*entry{}
	p.mu.Unlock()
	p.cancel()
	for _, e := range entries {
		e.close()
	}
	p.wg.Wait()
	return nil
}
