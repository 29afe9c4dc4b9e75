package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
	"golang.org/x/crypto/ssh"
)

// dial makes e's connection, publishes it (or the error) to e's waiters,
// and watches it until it dies.
func (p *Pool) dial(sandboxID string, e *entry) {
	defer p.wg.Done()
	start := time.Now()
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	c, err := p.connectRetrying(ctx, sandboxID)
	cancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	current := !p.closed && p.entries[sandboxID] == e
	if err == nil && !current {
		c.Close()
		c, err = nil, codepod.Errorf(codepod.EUNAVAILABLE, "connection to sandbox %s was closed while it was made", sandboxID)
	}
	e.client, e.err = c, err
	close(e.ready)
	if err != nil {
		if current {
			delete(p.entries, sandboxID) // failures are not cached
		}
		p.log.Info("ssh connect failed", "sandbox", sandboxID, "err", err)
		return
	}
	p.log.Debug("ssh connected", "sandbox", sandboxID, "ms", time.Since(start).Milliseconds())
	p.wg.Add(1)
	go p.watch(sandboxID, e)
}

// watch waits for e's connection to end and drops it from the pool, so
// the next Client dials again.
func (p *Pool) watch(sandboxID string, e *entry) {
	defer p.wg.Done()
	err := e.client.Wait()
	close(e.dead)
	p.mu.Lock()
	if p.entries[sandboxID] == e {
		delete(p.entries, sandboxID)
	}
	p.mu.Unlock()
	p.log.Debug("ssh connection ended", "sandbox", sandboxID, "err", err)
}

// connectRetrying connects, retrying with a short backoff for up to
// RetryFor while the agent is merely unreachable (a tunnel that failed
// once, an agent a moment from listening), so callers see a 503 only when
// the agent stays away.
func (p *Pool) connectRetrying(ctx context.Context, sandboxID string) (*ssh.Client, error) {
	deadline := p.cfg.Now().Add(p.cfg.RetryFor)
	wait := 50 * time.Millisecond
	for {
		c, err := p.connect(ctx, sandboxID)
		if err == nil || !retryable(err) || !p.cfg.Now().Add(wait).Before(deadline) {
			return c, err
		}
		p.log.Debug("agent unreachable; retrying", "sandbox", sandboxID, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// retryable: the agent could not be reached, which a moment may fix. A
// wrong host key or refused credentials will not change by retrying, and a
// runner that did not answer (ETIMEOUT) has already been waited for.
func retryable(err error) bool {
	var perm permanentError
	return codepod.ErrorCode(err) == codepod.EUNAVAILABLE && !errors.As(err, &perm)
}

// permanentError is a connect error that retrying will not fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// connect authenticates to sandboxID's agent over a fresh Dial, pinning its
// host key. ctx bounds the dial and the handshake.
func (p *Pool) connect(ctx context.Context, sandboxID string) (*ssh.Client, error) {
	auth, fingerprint, err := p.cfg.Auth(ctx, sandboxID)
	if err != nil {
		return nil, err
	}
	if fingerprint == "" {
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the host key of sandbox %s is not known yet; try again once it is running", sandboxID)
	}
	conn, err := p.cfg.Dial(ctx, sandboxID)
	if err != nil {
		return nil, err
	}
	return handshake(ctx, conn, sandboxID, &ssh.ClientConfig{
		User:            p.cfg.User,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: pinnedHostKey(fingerprint),
	})
}

// handshake runs the SSH handshake on conn, closing conn when ctx ends
// first or the handshake fails.
func handshake(ctx context.Context, conn net.Conn, sandboxID string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	cc, chans, reqs, err := ssh.NewClientConn(conn, "codepod-sandbox", cfg)
	if !stop() {
		if err == nil {
			cc.Close()
		}
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "the agent of sandbox %s did not complete the SSH handshake in time", sandboxID)
	}
	if err != nil {
		conn.Close()
		return nil, handshakeError(sandboxID, err)
	}
	return ssh.NewClient(cc, chans, reqs), nil
}

// hostKeyMismatch is what pinnedHostKey returns for a key it refuses.
type hostKeyMismatch struct{ want, got string }

func (e *hostKeyMismatch) Error() string {
	return fmt.Sprintf("host key %s does not match the pinned %s", e.got, e.want)
}

// pinnedHostKey accepts only the key with the given SHA256 fingerprint.
func pinnedHostKey(fingerprint string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if got := ssh.FingerprintSHA256(key); got != fingerprint {
			return &hostKeyMismatch{want: fingerprint, got: got}
		}
		return nil
	}
}

// handshakeError turns a failed handshake into a message for users; the
// cause goes to the logs with the wrapped error.
func handshakeError(sandboxID string, err error) error {
	var mismatch *hostKeyMismatch
	switch {
	case errors.As(err, &mismatch):
		return permanentError{fmt.Errorf("%w (%v)", codepod.Errorf(codepod.EUNAVAILABLE,
			"the agent of sandbox %s presented a host key that does not match its recorded fingerprint; refusing to connect", sandboxID), err)}
	case strings.Contains(err.Error(), "unable to authenticate"):
		return permanentError{fmt.Errorf("%w (%v)", codepod.Errorf(codepod.EUNAVAILABLE,
			"the agent of sandbox %s refused the server's credentials", sandboxID), err)}
	default:
		return fmt.Errorf("%w (%v)", codepod.Errorf(codepod.EUNAVAILABLE,
			"could not reach the agent of sandbox %s", sandboxID), err)
	}
}
