package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/codepod-dev/codepod"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// Tunnel close statuses the runner sends on the WebSocket it dialed back
// when it cannot connect it; the server's splice passes them on to the
// client (see the tunnel API contract).
const (
	CloseAgentUnreachable = 4502
)

// Timeouts of a tunnel's setup.
const (
	tunnelDialTimeout = 15 * time.Second // the dial back to the server
	agentDialTimeout  = 5 * time.Second  // the agent, in the sandbox's network namespace
)

// WSTunneler is the runner's own Tunneler: it dials the server back with a
// WebSocket (sshws.Dial, through the runner's proxy-aware HTTP client) and
// splices it to a connection to the sandbox's agent (Tunnel.DialAgent). The splices run until the
// tunnel ends or the runner stops; Wait waits for them.
type WSTunneler struct {
	log *slog.Logger
	wg  sync.WaitGroup
}

var _ Tunneler = (*WSTunneler)(nil)

// NewWSTunneler returns a tunneler that logs to logger (nil: discard).
func NewWSTunneler(logger *slog.Logger) *WSTunneler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &WSTunneler{log: logger}
}

// OpenTunnel dials back, then connects the agent: a sandbox whose agent
// does not answer gets the WebSocket closed with 4502 and a reason, so the
// client learns why at once. It returns when the tunnel is connected.
func (w *WSTunneler) OpenTunnel(ctx context.Context, t Tunnel) error {
	dctx, cancel := context.WithTimeout(ctx, tunnelDialTimeout)
	ws, err := sshws.Dial(dctx, t.URL, sshws.DialOptions{Header: t.Header, HTTPClient: t.HTTPClient})
	cancel()
	if err != nil {
		return fmt.Errorf("dial the tunnel back to the server: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, agentDialTimeout)
	agent, err := t.DialAgent(actx)
	cancel()
	if err != nil {
		reason := fmt.Sprintf("the agent of sandbox %s is not reachable; is the sandbox running?", t.Job.SandboxID)
		sshws.CloseWithReason(ws, CloseAgentUnreachable, reason)
		return codepod.Errorf(codepod.EUNAVAILABLE, "%s (%v)", reason, err)
	}
	log := w.log.With("tunnel", t.Job.Tunnel.TunnelID, "sandbox_id", t.Job.SandboxID)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		start := time.Now()
		err := sshws.Splice(ctx, ws, agent)
		log.Debug("tunnel closed", "duration", time.Since(start).Round(time.Millisecond), "err", err)
	}()
	return nil
}

// Wait waits for every tunnel's splice to end (they end with the context
// OpenTunnel was given).
func (w *WSTunneler) Wait() { w.wg.Wait() }

// writeAuthorizedKeys makes the sandbox's authorized_keys hold keys (the
// owner's keys as the server knows them now), rewriting it only when it
// changed. The agent reads it at every login. A sandbox without a host
// directory here is left to the Tunneler, which tells the client at once
// that its agent is unreachable (failing before the dial-back would leave
// the client waiting for the runner).
func (r *Runner) writeAuthorizedKeys(sandboxID string, keys []string) error {
	etc := filepath.Join(r.sandboxDir(sandboxID), "etc")
	if _, err := os.Stat(etc); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	want := []byte(strings.Join(keys, "\n"))
	if len(want) > 0 {
		want = append(want, '\n')
	}
	path := filepath.Join(etc, FileAuthorizedKeys)
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return nil
	}
	return writeFileAtomic(path, want, 0o644)
}
