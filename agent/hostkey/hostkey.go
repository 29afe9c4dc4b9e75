// Package hostkey creates and reads a sandbox's SSH host key.
//
// The runner calls Generate on the host before the container starts, so it
// knows the fingerprint to report to the server without waiting for the
// agent; the agent reads the same file (mounted read-only) and serves with
// it. The key survives container restarts because it lives in the runner's
// per-sandbox directory, not in the container.
//
// This package is a leaf: it imports only the standard library and
// golang.org/x/crypto/ssh.
package hostkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// FileName is the name of the private key file inside the directory.
const FileName = "host_key"

// Generate writes an ed25519 host key (OpenSSH PEM, mode 0600) to
// dir/host_key unless one is already there, and returns the SHA256
// fingerprint of its public key ("SHA256:…", as ssh-keygen -l prints it).
// An existing key is kept, so calling Generate again is safe.
func Generate(dir string) (fingerprint string, err error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := write(path); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", fmt.Errorf("stat host key: %w", err)
	}
	return Fingerprint(dir)
}

// Fingerprint returns the SHA256 fingerprint of the host key in dir.
func Fingerprint(dir string) (string, error) {
	pub, err := PublicKey(dir)
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(pub), nil
}

// PublicKey returns the public half of the host key in dir, for a pinned
// known_hosts line (ssh.MarshalAuthorizedKey) or a HostKeyCallback
// (ssh.FixedHostKey).
func PublicKey(dir string) (ssh.PublicKey, error) {
	signer, err := Signer(dir)
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}

// Signer reads and parses the host key in dir.
func Signer(dir string) (ssh.Signer, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse host key %s: %w", path, err)
	}
	return signer, nil
}

// write creates the key in a temporary file and renames it into place, so a
// reader never sees half a key and two concurrent callers keep one of them.
func write(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return fmt.Errorf("marshal host key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".host_key-*")
	if err != nil {
		return fmt.Errorf("create host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	// CreateTemp makes the file 0600 already; say it anyway.
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("chmod host key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install host key: %w", err)
	}
	return nil
}
