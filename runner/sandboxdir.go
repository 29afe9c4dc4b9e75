package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/codepod-dev/codepod/agent/hostkey"
	"github.com/codepod-dev/codepod/wire"
)

// Files in a sandbox's etc directory, mounted read-only at /.codepod/etc.
const (
	FileSSHSecret      = "ssh_secret"      // the key the agent checks SSH tokens with (0600)
	FileAuthorizedKeys = "authorized_keys" // the owner's public keys
	FileSandboxID      = "sandbox_id"
)

// sandboxDir is <StateDir>/sandboxes/<id>.
func (r *Runner) sandboxDir(id string) string {
	return filepath.Join(r.cfg.StateDir, "sandboxes", id)
}

// SandboxDir is the host directory of sandbox id (etc/ inside, mounted
// read-only; nothing in it is written from the sandbox).
func (r *Runner) SandboxDir(id string) string { return r.sandboxDir(id) }

// prepareDir makes <id>/etc, the host key (kept if present)
// and the files the agent reads, and returns the host key's fingerprint.
// Files are replaced atomically, so the agent never reads half of one.
func (r *Runner) prepareDir(p *wire.SandboxPayload) (string, error) {
	if err := ensurePrivateDir(filepath.Join(r.cfg.StateDir, "sandboxes")); err != nil {
		return "", err
	}
	if err := os.MkdirAll(r.agentsDir(), 0o755); err != nil { // bind-mounted: it must exist
		return "", fmt.Errorf("agents directory: %w", err)
	}
	dir := r.sandboxDir(p.ID)
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{dir, etc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("create sandbox directory: %w", err)
		}
	}
	fp, err := hostkey.Generate(etc)
	if err != nil {
		return "", fmt.Errorf("sandbox host key: %w", err)
	}
	if len(p.SSHSecret) > 0 {
		if err := writeFileAtomic(filepath.Join(etc, FileSSHSecret), p.SSHSecret, 0o600); err != nil {
			return "", err
		}
	}
	keys := strings.Join(p.AuthorizedKeys, "\n")
	if keys != "" {
		keys += "\n"
	}
	if err := writeFileAtomic(filepath.Join(etc, FileAuthorizedKeys), []byte(keys), 0o644); err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(etc, FileSandboxID), []byte(p.ID+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := r.writeDevcontainer(etc, p); err != nil {
		return "", fmt.Errorf("devcontainer settings: %w", err)
	}
	return fp, nil
}

// fingerprint reads the host key of sandbox id.
func (r *Runner) fingerprint(id string) (string, error) {
	fp, err := hostkey.Fingerprint(filepath.Join(r.sandboxDir(id), "etc"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("sandbox %s has no host directory on this runner (was it created here?)", id)
	}
	return fp, err
}

// removeDir deletes the sandbox's host directory; a missing one is fine.
// An adopted warm-pool sandbox's is a link to its member's directory:
// both go.
func (r *Runner) removeDir(id string) error {
	if target, err := os.Readlink(r.sandboxDir(id)); err == nil {
		if err := os.RemoveAll(filepath.Join(filepath.Dir(r.sandboxDir(id)), target)); err != nil {
			return fmt.Errorf("remove sandbox directory: %w", err)
		}
	}
	if err := os.RemoveAll(r.sandboxDir(id)); err != nil {
		return fmt.Errorf("remove sandbox directory: %w", err)
	}
	return nil
}
