package codepod

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/client"
	"github.com/codepod-dev/codepod/internal/sandboxssh"
	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// SSH opens an SSH connection to the sandbox through the server's tunnel
// (a WebSocket on the API's port, so it passes the same proxies as every
// other call). It authenticates with a short-lived token and pins the
// sandbox's host key to the fingerprint the server reports. Use the client
// for sessions, SFTP (github.com/pkg/sftp) or port forwards (Dial,
// Listen); close it when done. ctx bounds the connection's setup only.
func (s *Sandbox) SSH(ctx context.Context) (*ssh.Client, error) {
	tok, err := decode[client.SSHToken](s.c.check(s.c.api.CreateSshToken(ctx, s.id, client.CreateSSHTokenRequest{})))
	if err != nil {
		return nil, err
	}
	sc, err := sandboxssh.Dial(ctx, sandboxssh.Target{
		ServerURL: s.c.serverURL, APIKey: s.c.apiKey, Workspace: s.c.workspace, HTTPClient: s.c.http,
		SandboxID: s.id, HostKeyFingerprint: tok.HostKeyFingerprint,
		User: tok.User, Auth: []ssh.AuthMethod{ssh.Password(tok.Token)},
	})
	if err != nil {
		return nil, s.c.tunnelError(err)
	}
	return sc, nil
}

// closeKinds maps the tunnel's close codes to error kinds.
var closeKinds = map[int]Kind{4404: KindNotFound, 4409: KindConflict, 4504: KindTimeout, 4502: KindUnavailable}

// tunnelError turns a refused tunnel, or one the server closed with a
// status of its own, into an *Error.
func (c *Client) tunnelError(err error) error {
	var de *sshws.DialError
	if errors.As(err, &de) {
		return &Error{Status: de.StatusCode, Kind: kindOf(de.StatusCode), Title: http.StatusText(de.StatusCode), Detail: de.Detail, cause: err}
	}
	var ce *sshws.CloseError
	if errors.As(err, &ce) {
		if k, ok := closeKinds[ce.Code]; ok {
			return &Error{Kind: k, Detail: ce.Reason, cause: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Detail: "the SSH connection was not set up in time", cause: err}
	}
	return fmt.Errorf("codepod: %w", err)
}
