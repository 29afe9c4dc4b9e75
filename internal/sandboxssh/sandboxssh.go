// Package sandboxssh opens SSH connections to a sandbox's agent through the
// server's tunnel (GET /api/v1/sandboxes/{id}/tunnel, a WebSocket carrying
// the SSH stream end to end). The host key is pinned to the fingerprint the
// server holds: there is no trust on first use.
//
// The CLI and the Go SDK both use it.
package sandboxssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	sshws "github.com/codepod-dev/codepod/ssh-over-ws"
)

// Target names a sandbox and how to authenticate to it.
type Target struct {
	ServerURL  string       // e.g. https://codepod.example.com
	APIKey     string       // bearer credential for the tunnel
	HTTPClient *http.Client // proxy and TLS settings; nil: sshws's default
	SandboxID  string
	// Workspace, if set, is sent as the Codepod-Workspace header: the
	// workspace the sandbox is in, for a sign-in key.
	Workspace string
	// HostKeyFingerprint is the SHA256 fingerprint the server reported.
	HostKeyFingerprint string
	// Auth is how to log in to the agent: a token from
	// POST /sandboxes/{id}/ssh-tokens (ssh.Password) or a key.
	Auth []ssh.AuthMethod
	User string // default "root"
	// OnHostKey, if set, sees the host key once it matched the fingerprint.
	OnHostKey func(ssh.PublicKey)
}

// TunnelURL is the WebSocket URL of a sandbox's tunnel.
func TunnelURL(serverURL, sandboxID string) string {
	return strings.TrimRight(serverURL, "/") + "/api/v1/sandboxes/" + url.PathEscape(sandboxID) + "/tunnel"
}

// DialTunnel opens the raw tunnel: a net.Conn carrying the agent's SSH stream.
func DialTunnel(ctx context.Context, t Target) (net.Conn, error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+t.APIKey)
	if t.Workspace != "" {
		h.Set("Codepod-Workspace", t.Workspace)
	}
	return sshws.Dial(ctx, TunnelURL(t.ServerURL, t.SandboxID), sshws.DialOptions{Header: h, HTTPClient: t.HTTPClient})
}

// PinnedHostKey accepts only a host key whose SHA256 fingerprint is want.
func PinnedHostKey(want string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if want == "" {
			return errors.New("the server has no host key fingerprint for this sandbox yet; is it running?")
		}
		if got := ssh.FingerprintSHA256(key); got != want {
			return fmt.Errorf("host key mismatch: the sandbox presented %s but the server recorded %s", got, want)
		}
		return nil
	}
}

// Dial opens the tunnel and an SSH client over it.
func Dial(ctx context.Context, t Target) (*ssh.Client, error) {
	conn, err := DialTunnel(ctx, t)
	if err != nil {
		return nil, err
	}
	user := t.User
	if user == "" {
		user = "root"
	}
	pinned := PinnedHostKey(t.HostKeyFingerprint)
	check := func(host string, addr net.Addr, key ssh.PublicKey) error {
		err := pinned(host, addr, key)
		if err == nil && t.OnHostKey != nil {
			t.OnHostKey(key)
		}
		return err
	}
	cfg := &ssh.ClientConfig{User: user, Auth: t.Auth, HostKeyCallback: check, Timeout: 30 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, t.SandboxID, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh to sandbox %s: %w", t.SandboxID, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// ExitCode turns a session's Wait error into a shell-style exit code: the
// status, 128+N for a signal, and 255 when the status never came.
func ExitCode(err error) (int, error) {
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if sig := ee.Signal(); sig != "" {
			return 128 + signalNumber(sig), nil
		}
		return ee.ExitStatus(), nil
	case errors.As(err, &missing):
		return 255, nil
	}
	return 255, err
}

var signals = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9,
	"SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15, "USR1": 10, "USR2": 12}

func signalNumber(name string) int {
	if n, ok := signals[strings.TrimPrefix(name, "SIG")]; ok {
		return n
	}
	return 0
}
