package api

import (
	"context"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/agent/token"
)

// metaSSHToken marks operations that also take an SSH token (from
// create-ssh-token) as the bearer credential, for the sandbox in the path.
const metaSSHToken = "codepod-ssh-token"

// isSSHToken reports whether a bearer credential is an SSH token.
func isSSHToken(tok string) bool { return strings.HasPrefix(tok, "cps_") }

// authenticateSSHToken checks an SSH token presented for sandbox ref: it
// must name the API key that minted it, that key and its user must still
// work (so revoking the key, or disabling the user, voids every token it
// minted), and it must verify against the sandbox's secret. The caller is
// then that key's user, through that key.
func (s *Server) authenticateSSHToken(ctx context.Context, tok, ref string) (context.Context, error) {
	bad := codepod.Errorf(codepod.EUNAUTHORIZED, "the SSH token is invalid, expired or revoked, or is for another sandbox; mint a new one with create-ssh-token")
	keyID := token.Principal(tok)
	if keyID == "" {
		return nil, bad
	}
	_, u, err := s.keyAndUser(ctx, keyID, "")
	if err != nil {
		return nil, err
	}
	sb, err := s.ctl.GetSandbox(ctx, u, ref)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if token.Verify(sb.SSHSecret, sb.ID, tok, s.now()) != nil {
		return nil, bad
	}
	if ri := requestInfo(ctx); ri != nil {
		ri.userID = u.ID
	}
	return context.WithValue(context.WithValue(ctx, callerKey{}, u), callerKeyKey{}, keyID), nil
}
