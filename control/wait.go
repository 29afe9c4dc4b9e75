package control

import (
	"context"
	"time"

	"github.com/codepod-dev/codepod"
)

// sandboxKey is the Hub key that wakes the waiters of one sandbox: a
// runner's key is its id (which has no "sandbox/" prefix), so the two never
// meet. Through store.Hub a change on one replica wakes the waiters of every
// replica.
func sandboxKey(id string) string { return "sandbox/" + id }

// sandboxesKey is the Hub key woken after any sandbox changed (created,
// moved on, deleted): the live feeds of sandbox lists wait on it.
const sandboxesKey = "sandboxes"

// SandboxesChanged returns a channel closed by the next change of any
// sandbox, on any replica (through store.Hub). Take it before reading the
// sandboxes, as WaitSandbox does, so a change between the read and the
// wait is not missed. Like every Hub wake-up it only cuts latency: a
// reader that must not miss anything also re-reads now and then.
func (s *Service) SandboxesChanged() <-chan struct{} { return s.hub.Wait(sandboxesKey) }

// Settled reports whether a sandbox that was created or started has stopped
// moving: it runs, or it reached a status that is not on the way to running
// (error, lost, stopped, deleting, deleted).
func Settled(sb *codepod.Sandbox) bool {
	switch sb.Status {
	case codepod.SandboxPending, codepod.SandboxCreating, codepod.SandboxStarting:
		return false
	}
	return true
}

// WaitSandbox waits up to d until done(sandbox) holds for sandbox ref of
// caller, and returns the sandbox as it is then, with ok telling whether
// done held (false: d passed first). It does not poll: it sleeps on the
// Hub, which the transaction that changes the sandbox's status or reason
// wakes after it committed (on any replica through store.Hub). A lost
// wake-up costs latency only: the sandbox is read again when d ends.
// A deleted sandbox is returned, not ENOTFOUND, so a waiter learns why it
// will never run.
func (s *Service) WaitSandbox(ctx context.Context, caller *codepod.User, ref string, d time.Duration, done func(*codepod.Sandbox) bool) (*codepod.Sandbox, bool, error) {
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, false, err
	}
	id := sb.ID
	t := s.cfg.Clock.NewTimer(d, "sandbox", "wait")
	defer t.Stop()
	for {
		wake := s.hub.Wait(sandboxKey(id))
		if sb, err = s.st.Sandbox(ctx, id); err != nil {
			return nil, false, wrapUnlessDomain(err, "get sandbox %s", id)
		}
		if done(sb) {
			return sb, true, nil
		}
		select {
		case <-wake:
		case <-t.C:
			sb, err = s.st.Sandbox(ctx, id)
			if err != nil {
				return nil, false, wrapUnlessDomain(err, "get sandbox %s", id)
			}
			return sb, done(sb), nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}
