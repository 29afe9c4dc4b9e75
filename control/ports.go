package control

import (
	"context"

	"github.com/codepod-dev/codepod"
)

// OpenPort opens port of the caller's sandbox ref for the preview proxy
// (again: updates its public flag and label, keeping its links valid).
func (s *Service) OpenPort(ctx context.Context, caller *codepod.User, ref string, p codepod.SandboxPort) (*codepod.Sandbox, *codepod.SandboxPort, error) {
	if err := codepod.ValidatePort(p.Port, p.Label); err != nil {
		return nil, nil, err
	}
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, nil, err
	}
	if sb.Status == codepod.SandboxDeleting {
		return nil, nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is being deleted", sb.Name)
	}
	p.SandboxID, p.Secret, p.CreatedAt = sb.ID, nil, s.now()
	if err := s.st.OpenPort(ctx, &p); err != nil {
		return nil, nil, wrapUnlessDomain(err, "open port %d of sandbox %s", p.Port, sb.ID)
	}
	s.log.Info("port opened", keySandbox, sb.ID, "port", p.Port, "public", p.Public)
	return sb, &p, nil
}

// ClosePort closes an open port: the proxy refuses it and its preview
// links stop working. A port that is not open is ENOTFOUND.
func (s *Service) ClosePort(ctx context.Context, caller *codepod.User, ref string, port int) error {
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return err
	}
	err = s.st.ClosePort(ctx, sb.ID, port)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return portClosed(sb, port)
	}
	return wrapUnlessDomain(err, "close port %d of sandbox %s", port, sb.ID)
}

// Ports lists the open ports of the caller's sandbox ref.
func (s *Service) Ports(ctx context.Context, caller *codepod.User, ref string) (*codepod.Sandbox, []codepod.SandboxPort, error) {
	sb, err := resolve(ctx, s.st, caller, ref)
	if err != nil {
		return nil, nil, err
	}
	ports, err := s.st.SandboxPorts(ctx, sb.ID)
	return sb, ports, wrapUnlessDomain(err, "list ports of sandbox %s", sb.ID)
}

// Port returns an open port of sandbox sb (already resolved for its
// caller), or ENOTFOUND saying how to open it.
func (s *Service) Port(ctx context.Context, sb *codepod.Sandbox, port int) (*codepod.SandboxPort, error) {
	p, err := s.st.SandboxPort(ctx, sb.ID, port)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, portClosed(sb, port)
	}
	return p, wrapUnlessDomain(err, "get port %d of sandbox %s", port, sb.ID)
}

// SandboxByID returns sandbox id whoever owns it (for a preview link, which
// names its owner itself); a deleted one is ENOTFOUND.
func (s *Service) SandboxByID(ctx context.Context, id string) (*codepod.Sandbox, error) {
	sb, err := s.st.Sandbox(ctx, id)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND || (err == nil && sb.Status == codepod.SandboxDeleted) {
		return nil, notFound(id)
	}
	return sb, wrapUnlessDomain(err, "get sandbox %s", id)
}

func portClosed(sb *codepod.Sandbox, port int) error {
	return codepod.Errorf(codepod.ENOTFOUND, "port %d of sandbox %s is not open; open it with `codepod sandbox port open %s %d` (POST /api/v1/sandboxes/%s/ports)",
		port, sb.Name, sb.Name, port, sb.ID)
}
