package runner

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/codepod-dev/codepod/wire"
)

// Inventory lists every container labelled with this runner's id, running
// or stopped, as the reconcile heartbeat reports it.
func (r *Runner) Inventory(ctx context.Context) ([]wire.SandboxState, error) {
	if r.ID() == "" {
		return nil, fmt.Errorf("list sandboxes: the runner is not registered yet")
	}
	list, err := r.cfg.Backend.ListSandboxes(ctx, r.ID())
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	out := make([]wire.SandboxState, 0, len(list))
	for _, c := range list {
		s := wire.SandboxState{ID: c.SandboxID, State: wire.StateStopped,
			OOMKilled: c.OOMKilled, ExitCode: c.ExitCode, Reason: truncate(c.Reason, 1024)}
		if c.Running {
			s.State = wire.StateRunning
		} else if validSandboxID(c.SandboxID) == nil {
			// A devcontainer hook that failed after the sandbox was ready,
			// or the disk watch's stop.
			if b, err := os.ReadFile(r.lifecycleFailedFile(c.SandboxID)); err == nil && len(b) > 0 {
				s.State, s.Reason = wire.StateFailed, truncate(string(b), 1024)
			}
		}
		if validSandboxID(c.SandboxID) == nil {
			s.HostKeyFingerprint, _ = r.fingerprint(c.SandboxID)
			s.AgentVersion = r.agentVersionOf(c.SandboxID)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// truncate cuts s to at most n bytes on a UTF-8 character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// reportStateNow tells the server at once what became of a sandbox the
// runner stopped by itself (what names it in the log); the inventory
// carries the same should the report not arrive.
func (r *Runner) reportStateNow(ctx context.Context, st wire.SandboxState, what string) {
	st.HostKeyFingerprint, _ = r.fingerprint(st.ID)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.api.reportState(rctx, r.credential(), st); err != nil {
		r.log.Warn("cannot report "+what+" now; the next inventory will", "sandbox_id", st.ID, "err", err)
	}
}
