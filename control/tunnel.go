package control

import (
	"context"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// OpenTunnel enqueues a tunnel job for the runner that hosts sandbox id and
// wakes its poll: the runner dials back to t.Path and connects the tunnel
// to the sandbox's agent. The caller has checked that the client may reach
// the sandbox (GetSandbox for a user, or an SSH token of the sandbox). A
// sandbox that is not running is ECONFLICT; a deleted one ENOTFOUND.
func (s *Service) OpenTunnel(ctx context.Context, sandboxID string, t wire.TunnelPayload) (*codepod.Job, error) {
	var job *codepod.Job
	err := s.inTx(ctx, func(tx codepod.Store, out *outbox) error {
		sb, err := tx.Sandbox(ctx, sandboxID)
		switch {
		case codepod.ErrorCode(err) == codepod.ENOTFOUND || (err == nil && sb.Status == codepod.SandboxDeleted):
			return notFound(sandboxID)
		case err != nil:
			return err
		case sb.Status == codepod.SandboxStopped:
			return codepod.Errorf(codepod.ECONFLICT, "sandbox %s is stopped; start it first", sb.Name)
		case sb.Status != codepod.SandboxRunning:
			return codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s; wait until it is running", sb.Name, sb.Status)
		}
		if err := s.enqueue(ctx, tx, out, codepod.JobTunnel, sb.RunnerID, sb.ID, &t); err != nil {
			return err
		}
		job = out.jobs[len(out.jobs)-1]
		return nil
	})
	if err != nil {
		return nil, wrapUnlessDomain(err, "open tunnel to sandbox %s", sandboxID)
	}
	return job, nil
}
