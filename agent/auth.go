package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/codepod-dev/codepod/agent/token"
	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Files the runner puts in the etc directory.
const (
	fileHostKey        = "host_key"
	fileSSHSecret      = "ssh_secret"
	fileAuthorizedKeys = "authorized_keys"
	fileSandboxID      = "sandbox_id"
)

// checkPassword accepts a sandbox token minted with this sandbox's secret
// for this sandbox's id that has not expired. The files are read on every
// attempt, so the runner may rotate them while the agent runs.
func (a *Agent) checkPassword(ctx ssh.Context, password string) bool {
	secret, err := os.ReadFile(filepath.Join(a.cfg.EtcDir, fileSSHSecret))
	if err != nil {
		a.log.Warn("password auth unavailable", "err", err)
		return false
	}
	id, err := os.ReadFile(filepath.Join(a.cfg.EtcDir, fileSandboxID))
	if err != nil {
		a.log.Warn("password auth unavailable", "err", err)
		return false
	}
	if err := token.Verify(secret, strings.TrimSpace(string(id)), password, time.Now()); err != nil {
		a.log.Info("auth rejected", "method", "password", "user", ctx.User(), "remote", remote(ctx), "err", err)
		return false
	}
	return true
}

// checkPublicKey accepts a key listed in authorized_keys, read on every
// attempt because the runner rewrites it when the owner's keys change.
// Options in front of a key (command=, from=, …) are ignored: any listed
// key gets a full login.
func (a *Agent) checkPublicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	want := key.Marshal()
	for _, k := range a.authorizedKeys() {
		if bytes.Equal(k.Marshal(), want) {
			return true
		}
	}
	// Clients offer several keys in turn, so a miss is not worth a warning.
	a.log.Debug("auth rejected", "method", "publickey", "user", ctx.User(), "remote", remote(ctx), "fingerprint", gossh.FingerprintSHA256(key))
	return false
}

// authorizedKeys parses the authorized_keys file; a missing or empty file
// authorizes nothing.
func (a *Agent) authorizedKeys() []gossh.PublicKey {
	rest, err := os.ReadFile(filepath.Join(a.cfg.EtcDir, fileAuthorizedKeys))
	if err != nil {
		return nil
	}
	var keys []gossh.PublicKey
	for len(rest) > 0 {
		key, _, _, next, err := gossh.ParseAuthorizedKey(rest)
		if err != nil {
			break // no valid key in what is left
		}
		keys = append(keys, key)
		rest = next
	}
	return keys
}

func remote(ctx ssh.Context) string {
	if addr := ctx.RemoteAddr(); addr != nil && addr.String() != "" {
		return addr.String()
	}
	return "unix"
}
