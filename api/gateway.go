package api

import (
	"context"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/token"
	"github.com/codepod-dev/codepod/gateway"
)

// DefaultTunnelWait is how long a tunnel waits for the runner to dial back.
const DefaultTunnelWait = 10 * time.Second

// agentTokenTTL is the life of the token the server's own SSH client logs
// in with; the pooled connection outlives it, the login does not.
const agentTokenTTL = 5 * time.Minute

// newGateway makes the tunnel broker and the pool of SSH connections the
// exec, files and terminal endpoints use.
func (s *Server) newGateway() {
	s.broker = gateway.NewBroker(s.log)
	s.pool = gateway.NewPool(gateway.PoolConfig{Dial: s.dialAgent, Auth: s.agentAuth, Logger: s.log})
}

// Close closes the server's pooled SSH connections. Call it after the HTTP
// server has shut down.
func (s *Server) Close() error { return s.pool.Close() }

// dialAgent opens a tunnel to sandboxID's agent for the pool: a tunnel job
// for its runner, then the runner's dial-back.
func (s *Server) dialAgent(ctx context.Context, sandboxID string) (net.Conn, error) {
	sb, tunnelID, err := s.ctl.OpenSystemTunnel(ctx, sandboxID)
	if err != nil {
		return nil, err
	}
	return s.awaitRunner(ctx, sb, tunnelID)
}

// awaitRunner waits up to TunnelWait for the runner of sb to dial back for
// tunnelID; a runner that does not is ETIMEOUT.
func (s *Server) awaitRunner(ctx context.Context, sb *codepod.Sandbox, tunnelID string) (net.Conn, error) {
	p := s.broker.Expect(tunnelID, sb.RunnerID)
	defer p.Cancel()
	wctx, cancel := context.WithTimeout(ctx, s.cfg.TunnelWait)
	defer cancel()
	return p.Wait(wctx)
}

// agentAuth mints the pool's login token and names the host key to pin.
func (s *Server) agentAuth(ctx context.Context, sandboxID string) (ssh.AuthMethod, string, error) {
	sb, err := s.st.Sandbox(ctx, sandboxID)
	if err != nil {
		return nil, "", err
	}
	if len(sb.SSHSecret) == 0 {
		return nil, "", codepod.Errorf(codepod.EUNAVAILABLE, "sandbox %s has no SSH secret yet; try again in a moment", sb.Name)
	}
	tok := token.Mint(sb.SSHSecret, sb.ID, s.now().Add(agentTokenTTL))
	return ssh.Password(tok), sb.HostKeyFingerprint, nil
}

// runningSandbox returns the caller's sandbox ref if it is running, else
// ENOTFOUND or an ECONFLICT that says what to do.
func (s *Server) runningSandbox(ctx context.Context, ref string) (*codepod.Sandbox, error) {
	sb, err := s.ctl.GetSandbox(ctx, caller(ctx), ref)
	switch {
	case err != nil:
		return nil, err
	case sb.Status == codepod.SandboxStopped:
		return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is stopped; start it first (codepod sandbox start %s)", sb.Name, sb.Name)
	case sb.Status != codepod.SandboxRunning:
		return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s, not running; wait until it is running", sb.Name, sb.Status)
	}
	s.touchActive(ctx, sb) // a session or a file operation is activity
	codepod.SetAuditTarget(ctx, "sandbox", sb.ID, "")
	return sb, nil
}

// withAgent runs fn on the pooled SSH connection to sb's agent.
func (s *Server) withAgent(ctx context.Context, sb *codepod.Sandbox, fn func(c *ssh.Client) error) error {
	return s.pool.Do(ctx, sb.ID, fn)
}
