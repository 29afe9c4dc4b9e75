package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/token"
)

// CreateSSHTokenRequest sets an SSH token's lifetime.
type CreateSSHTokenRequest struct {
	TTLSeconds int `json:"ttl_seconds,omitempty" minimum:"1" maximum:"3600" default:"300" doc:"Lifetime in seconds (default 300, at most 3600)."`
}

// SSHToken is a short-lived password for SSH into one sandbox.
type SSHToken struct {
	Token              string    `json:"token" doc:"Use as the SSH password (or as the bearer credential of this sandbox's tunnel) until expires_at. It names the API key that minted it and stops working when that key is revoked or its user disabled."`
	User               string    `json:"user" doc:"The SSH user name."`
	HostKeyFingerprint string    `json:"host_key_fingerprint" doc:"SHA256 fingerprint of the sandbox's host key: pin it."`
	ExpiresAt          time.Time `json:"expires_at"`
	SandboxID          string    `json:"sandbox_id"`
}

type createSSHTokenInput struct {
	ID   string                 `path:"id" maxLength:"200" doc:"The sandbox's id or name."`
	Body *CreateSSHTokenRequest `required:"false"`
}

type sshTokenOutput struct {
	Body SSHToken
}

func registerSSHTokens(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/sandboxes/{id}/ssh-tokens", "create-ssh-token", "sandboxes",
		"Create a short-lived SSH token", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Mints a token the sandbox's SSH server accepts as root's password until it expires. "+
		"The sandbox must be running."), s.createSSHToken)
}

func (s *Server) createSSHToken(ctx context.Context, in *createSSHTokenInput) (*sshTokenOutput, error) {
	ttl := 300
	if in.Body != nil && in.Body.TTLSeconds > 0 {
		ttl = in.Body.TTLSeconds
	}
	sb, err := s.ctl.GetSandbox(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	if sb.Status != codepod.SandboxRunning {
		return nil, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s, not running; start it first (codepod sandbox start %s)", sb.Name, sb.Status, sb.Name)
	}
	if len(sb.SSHSecret) == 0 {
		return nil, codepod.Errorf(codepod.EUNAVAILABLE, "sandbox %s has no SSH secret yet; try again in a moment", sb.Name)
	}
	exp := s.now().Add(time.Duration(ttl) * time.Second).Truncate(time.Second)
	return &sshTokenOutput{Body: SSHToken{
		Token: token.MintFor(sb.SSHSecret, sb.ID, callerKeyID(ctx), exp), User: "root",
		HostKeyFingerprint: sb.HostKeyFingerprint, ExpiresAt: exp, SandboxID: sb.ID,
	}}, nil
}
