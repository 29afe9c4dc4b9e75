package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent"
	"github.com/codepod-dev/codepod/agent/token"
)

// ErrNotRunning is what Backend.DialAgent wraps when the sandbox's
// container does not run (or does not exist).
var ErrNotRunning = errors.New("the sandbox's container is not running")

// Bounds of one reachability probe.
const (
	probeTimeout = 3 * time.Second
	// The agent listens within milliseconds of its container's start: a
	// short, capped backoff keeps a create from waiting long after it
	// answers (each probe costs two inspects and an SSH key exchange).
	probeFirstGap = 10 * time.Millisecond
	probeMaxGap   = 100 * time.Millisecond
)

// errHostKeyMismatch: something answered SSH, but not with the key the
// runner made for this sandbox's agent.
var errHostKeyMismatch = errors.New("the SSH server in the sandbox does not hold the agent's host key")

// waitReachable returns once the sandbox's agent answers an SSH handshake
// with the host key whose fingerprint is fp, retrying with a short backoff
// for up to Config.ReachableTimeout. This is what makes "running" mean
// "an exec will reach the agent". A sandbox that does not run fails at once.
func (r *Runner) waitReachable(parent context.Context, sandboxID, fp string) error {
	limit := r.cfg.ReachableTimeout
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	gap := probeFirstGap
	for {
		err := r.probe(ctx, sandboxID, fp)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrNotRunning):
			return codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox stopped as it started (its agent exited; see the sandbox's logs): %v", err)
		case errors.Is(err, errHostKeyMismatch):
			return codepod.Errorf(codepod.EUNAVAILABLE, "the sandbox's agent is not the one this runner started: %v", err)
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err() // the job itself was cancelled
			}
			return codepod.Errorf(codepod.EUNAVAILABLE, "the agent did not answer within %s: %v", limit, err)
		case <-time.After(gap):
		}
		gap = min(gap*2, probeMaxGap)
	}
}

// probe dials the agent and runs an SSH handshake up to the host key
// check: a key with fingerprint fp proves it is the agent, so a failed
// authentication afterwards (the probe offers no credential) still counts.
func (r *Runner) probe(ctx context.Context, sandboxID, fp string) error {
	conn, err := r.cfg.Backend.DialAgent(ctx, sandboxID)
	if err != nil {
		return err
	}
	defer conn.Close()
	bc := &bannerConn{Conn: conn}
	if err := handshake(bc, fp); err != nil {
		return err
	}
	r.recordAgentVersion(sandboxID, agent.BannerVersion(bc.line()))
	return nil
}

// bannerConn keeps the first line the peer sends: the SSH identification
// line, which names the agent's version (agent.Banner).
type bannerConn struct {
	net.Conn
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (c *bannerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if !c.done {
		for _, b := range p[:n] {
			if b == '\n' || len(c.buf) >= 255 {
				c.done = true
				break
			}
			c.buf = append(c.buf, b)
		}
	}
	c.mu.Unlock()
	return n, err
}

func (c *bannerConn) line() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// fileAgentVersion, in a sandbox's host directory, is the version of the
// agent that last answered there (the inventory reports it).
const fileAgentVersion = "agent_version"

// recordAgentVersion keeps v as the version of sandbox id's agent.
func (r *Runner) recordAgentVersion(id, v string) {
	if v == "" || validSandboxID(id) != nil {
		return
	}
	path := filepath.Join(r.sandboxDir(id), fileAgentVersion)
	if b, err := os.ReadFile(path); err == nil && string(b) == v {
		return
	}
	if err := writeFileAtomic(path, []byte(v), 0o644); err != nil {
		r.log.Warn("agent version not recorded", "sandbox_id", id, "err", err)
	}
}

// agentVersionOf is the recorded version of sandbox id's agent ("" when
// none was recorded).
func (r *Runner) agentVersionOf(id string) string {
	b, err := os.ReadFile(filepath.Join(r.sandboxDir(id), fileAgentVersion))
	if err != nil {
		return ""
	}
	return truncate(strings.TrimSpace(string(b)), 128)
}

// agentClientConfig logs in to sandbox id's agent as root with a token
// minted from secret, accepting only the host key of fingerprint fp.
func agentClientConfig(secret []byte, id, fp string) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.Password(token.Mint(secret, id, time.Now().Add(time.Minute)))},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if ssh.FingerprintSHA256(key) != fp {
				return errHostKeyMismatch
			}
			return nil
		},
		Timeout: probeTimeout,
	}
}

// handshake runs an SSH key exchange on conn and checks the server's host
// key against fp.
func handshake(conn net.Conn, fp string) error {
	conn.SetDeadline(time.Now().Add(probeTimeout))
	matched := false
	cfg := &ssh.ClientConfig{
		User: "codepod-runner-probe",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != fp {
				return fmt.Errorf("%w (got %s, want %s)", errHostKeyMismatch, got, fp)
			}
			matched = true
			return nil
		},
		Timeout: probeTimeout,
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, "agent", cfg)
	if err == nil {
		go ssh.DiscardRequests(reqs)
		go func() {
			for ch := range chans {
				ch.Reject(ssh.Prohibited, "")
			}
		}()
		c.Close()
		return nil
	}
	if matched {
		return nil // the key exchange proved it is the agent
	}
	return fmt.Errorf("ssh handshake with the agent: %w", err)
}
