package control

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
	"github.com/codepod-dev/codepod/wire"
)

// TunnelPathPrefix is where a runner dials back for a tunnel: the tunnel id
// follows it. The API serves the runner's end of tunnels there.
const TunnelPathPrefix = "/api/v1/runners/tunnels/"

// TunnelMaxAge is how long a tunnel job is worth delivering. The client
// that asked for it waits about 10s for the runner; a job claimed later
// than this, or delivered a second time after a lease expired, is failed
// at the claim instead of being handed to the runner.
const TunnelMaxAge = 30 * time.Second

// OpenTunnel asks the runner of sandbox ref (an id, or a name of caller's)
// to dial back a new tunnel to its agent, and returns the sandbox and the
// tunnel's id for the rendezvous (see gateway.Broker). The job is leased
// at once to a waiting poll. Another user's or a deleted sandbox is
// ENOTFOUND; one that is not running is ECONFLICT.
func (s *Service) OpenTunnel(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, string, error) {
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, "", err
	}
	return s.OpenSystemTunnel(ctx, sb.ID)
}

// OpenSystemTunnel is OpenTunnel for the server itself (its pooled SSH
// connections for exec, files and terminals): sandboxID is an id, and the
// caller has already checked who may reach it.
func (s *Service) OpenSystemTunnel(ctx context.Context, sandboxID string) (*codepod.Sandbox, string, error) {
	id := secret.NewID("tun")
	var sb *codepod.Sandbox
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		var err error
		if sb, err = runningSandbox(ctx, tx, sandboxID); err != nil {
			return err
		}
		keys, err := tx.ListSSHKeys(ctx, sb.OwnerID)
		if err != nil {
			return fmt.Errorf("list ssh keys of %s: %w", sb.OwnerID, err)
		}
		p := wire.TunnelPayload{TunnelID: id, Path: TunnelPathPrefix + id}
		if base := strings.TrimRight(s.cfg.AdvertiseURL, "/"); base != "" {
			p.URL = base + p.Path
		}
		for _, k := range keys {
			p.AuthorizedKeys = append(p.AuthorizedKeys, k.PublicKey)
		}
		return s.enqueue(ctx, tx, out, codepod.JobTunnel, sb.RunnerID, sb.ID, &p)
	})
	if err != nil {
		return nil, "", wrapUnlessDomain(err, "open tunnel to sandbox %s", sandboxID)
	}
	s.log.Debug("tunnel requested", keySandbox, sb.ID, keyRunner, sb.RunnerID, "tunnel", id)
	return sb, id, nil
}

// runningSandbox returns sandbox id if it is running, else ENOTFOUND or an
// ECONFLICT that says what to do.
func runningSandbox(ctx context.Context, st codepod.Store, id string) (*codepod.Sandbox, error) {
	sb, err := st.Sandbox(ctx, id)
	switch {
	case codepod.ErrorCode(err) == codepod.ENOTFOUND || (err == nil && sb.Status == codepod.SandboxDeleted):
		return nil, notFound(id)
	case err != nil:
		return nil, fmt.Errorf("get sandbox %s: %w", id, err)
	case sb.Status == codepod.SandboxStopped:
		return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is stopped; start it first", sb.Name)
	case sb.Status != codepod.SandboxRunning:
		return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s, not running; wait until it is running", sb.Name, sb.Status)
	}
	return sb, nil
}

// staleTunnel reports whether a claimed tunnel job is no longer worth
// delivering: its client gave up (see TunnelMaxAge).
func staleTunnel(j *codepod.Job, now time.Time) bool {
	return j.Kind == codepod.JobTunnel && (j.Attempts > 1 || now.Sub(j.CreatedAt) > TunnelMaxAge)
}

// failStale fails the stale tunnel jobs among claimed, in the claim's
// transaction, and returns the others.
func failStale(ctx context.Context, tx codepod.Store, runnerID string, claimed []codepod.Job, now time.Time) ([]codepod.Job, error) {
	keep := claimed[:0]
	for _, j := range claimed {
		if !staleTunnel(&j, now) {
			keep = append(keep, j)
			continue
		}
		msg := "tunnel request expired before the runner took it; the client stopped waiting"
		if _, _, err := tx.FinishJob(ctx, runnerID, j.ID, codepod.JobFailed, nil, msg); err != nil {
			return nil, fmt.Errorf("expire tunnel job %s: %w", j.ID, err)
		}
	}
	return keep, nil
}
