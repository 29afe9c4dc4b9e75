package api

import (
	"context"
	"net"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// Close statuses of a tunnel that fails after the upgrade (the contract's
// 4404, 4409, 4504 and 4502), by error code.
var closeStatus = map[string]int{
	codepod.ENOTFOUND:     4404,
	codepod.ECONFLICT:     4409,
	codepod.ETIMEOUT:      4504,
	codepod.EUNAVAILABLE:  4502,
	codepod.EINVALID:      4400,
	codepod.EFORBIDDEN:    4403,
	codepod.EUNAUTHORIZED: 4401,
}

// closeFor is the close status and reason that tell a WebSocket client why
// err ended its stream (1011 and a generic reason for internal errors,
// which are logged).
func closeFor(ctx context.Context, err error) (int, string) {
	code, ok := closeStatus[codepod.ErrorCode(err)]
	if !ok {
		logger(ctx).Error("websocket request failed", "err", err)
		return 1011, "internal error; the server log has the details"
	}
	return code, codepod.ErrorMessage(err)
}

// closeConnFor closes an upgraded tunnel conn with closeFor's status.
func closeConnFor(ctx context.Context, conn net.Conn, err error) {
	code, reason := closeFor(ctx, err)
	sshws.CloseWithReason(conn, code, reason)
}

type tunnelInput struct {
	ID string `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
}

type runnerTunnelInput struct {
	ID string `path:"id" maxLength:"200" doc:"The tunnel's id, from the tunnel job."`
}

func registerTunnels(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodGet, "/sandboxes/{id}/tunnel", "open-tunnel", "sandboxes",
		"Open an SSH tunnel to a sandbox (WebSocket)", http.StatusNotFound, http.StatusConflict)
	op.Metadata = map[string]any{metaSSHToken: true}
	register(api, s, wsOperation(op, false, "The credential is an API key or an SSH token of this sandbox (create-ssh-token), "+
		"which works only while the key that minted it does. Binary frames carry the raw SSH stream to the sandbox's agent, end to end "+
		"(log in with a token from create-ssh-token and pin host_key_fingerprint). A failure after the upgrade closes the WebSocket with "+
		"4404 (not found), 4409 (not running), 4504 (the runner did not answer in time) or 4502 (the agent is unreachable) and a reason."),
		s.openTunnel)

	op = s.operation(runnerOnly, http.MethodGet, "/runners/tunnels/{id}", "connect-runner-tunnel", "runner-protocol",
		"Connect the runner's end of a tunnel (WebSocket)", http.StatusNotFound, http.StatusForbidden)
	register(api, s, wsOperation(op, false, "A runner dials this back for a tunnel job and splices it to the sandbox's agent socket. "+
		"The tunnel must be waiting for this runner; one whose client gave up is a 404."),
		s.connectRunnerTunnel)
}

func (s *Server) openTunnel(ctx context.Context, in *tunnelInput) (*huma.StreamResponse, error) {
	if _, err := s.runningSandbox(ctx, in.ID); err != nil {
		return nil, err
	}
	ctx, release, err := s.openSession(ctx, gateway.SessionTunnel)
	if err != nil {
		return nil, err
	}
	return upgrade(func(w http.ResponseWriter, r *http.Request) { defer release(); s.serveTunnel(ctx, w, r, in.ID) }), nil
}

// serveTunnel upgrades, asks the runner to dial back and splices the two.
func (s *Server) serveTunnel(ctx context.Context, w http.ResponseWriter, r *http.Request, ref string) {
	conn, err := sshws.Accept(w, r, sshws.AcceptOptions{})
	if err != nil {
		return
	}
	runner, err := s.reachRunner(ctx, ref)
	if err != nil {
		closeConnFor(ctx, conn, err)
		return
	}
	// A revoked session closes the client's side with the reason first,
	// then the splice ends.
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	defer context.AfterFunc(ctx, func() {
		if cause := revocation(ctx); cause != nil {
			closeConnFor(ctx, conn, cause)
		}
		stop()
	})()
	err = sshws.Splice(sctx, conn, runner)
	logger(ctx).Debug("tunnel closed", "sandbox", ref, "err", err)
}

// reachRunner opens a tunnel job for the caller's sandbox ref and returns
// its runner's dial-back.
func (s *Server) reachRunner(ctx context.Context, ref string) (net.Conn, error) {
	sb, tunnelID, err := s.ctl.OpenTunnel(ctx, caller(ctx), ref)
	if err != nil {
		return nil, err
	}
	return s.awaitRunner(ctx, sb, tunnelID)
}

func (s *Server) connectRunnerTunnel(ctx context.Context, in *runnerTunnelInput) (*huma.StreamResponse, error) {
	r := callerRunner(ctx)
	if err := s.broker.Expecting(in.ID, r.ID); err != nil {
		return nil, err
	}
	return upgrade(func(w http.ResponseWriter, req *http.Request) {
		conn, err := sshws.Accept(w, req, sshws.AcceptOptions{})
		if err != nil {
			return
		}
		done, err := s.broker.Deliver(in.ID, r.ID, conn)
		if err != nil {
			closeConnFor(ctx, conn, err)
			return
		}
		// The WebSocket lives as long as this handler: hold it until the
		// tunnel's other side is done with it.
		select {
		case <-done:
		case <-req.Context().Done():
			conn.Close()
		}
	}), nil
}
