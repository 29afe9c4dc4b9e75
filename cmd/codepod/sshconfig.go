package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/client"
)

// identityName is the key `codepod ssh-config` manages, in the config dir.
const identityName = "id_ed25519"

func newSSHConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ssh-config [ID|NAME...]",
		Short: "Print OpenSSH Host blocks for sandboxes (ProxyCommand, pinned host key, identity)",
		Long: `Print a Host block per sandbox (default: every running one) for ~/.ssh/config,
so ssh, scp, sftp, rsync and VS Code Remote-SSH reach sandboxes as
codepod-<name>. It also makes a CodePod-managed key (~/.config/codepod/id_ed25519)
and authorizes it on the server for your sandboxes, and writes each sandbox's
host key, checked against the fingerprint the server holds, to
~/.config/codepod/known_hosts: OpenSSH then verifies it strictly.

  codepod ssh-config >> ~/.ssh/config
  ssh codepod-demo`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(true)
			if err != nil {
				return err
			}
			dir, err := configDir()
			if err != nil {
				return err
			}
			pub, err := ensureIdentity(dir)
			if err != nil {
				return err
			}
			if err := c.authorizeKey(cmd, pub); err != nil {
				return err
			}
			sandboxes, err := c.sandboxesFor(cmd, args)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				self = "codepod"
			}
			for _, sb := range sandboxes {
				if err := c.pinHostKey(cmd, dir, sb); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), hostBlock, sb.Name, sb.Id, self, sb.Id,
					filepath.Join(dir, identityName), filepath.Join(dir, "known_hosts"), sb.Id)
			}
			return nil
		},
	}
	return cmd
}

const hostBlock = `Host codepod-%s
  HostName %s
  User root
  ProxyCommand %q ssh-proxy %s
  IdentityFile %q
  IdentitiesOnly yes
  UserKnownHostsFile %q
  HostKeyAlias codepod-%s
  StrictHostKeyChecking yes

`

func configDir() (string, error) {
	p, err := configPath()
	return filepath.Dir(p), err
}

// ensureIdentity makes the managed ed25519 key if it is missing and returns
// its public half.
func ensureIdentity(dir string) (ssh.PublicKey, error) {
	path := filepath.Join(dir, identityName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, err := ssh.MarshalPrivateKey(priv, "codepod")
		if err != nil {
			return nil, err
		}
		b = pem.EncodeToMemory(block)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return signer.PublicKey(), os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
}

// authorizeKey registers pub with the server unless it already is.
func (c *apiClient) authorizeKey(cmd *cobra.Command, pub ssh.PublicKey) error {
	r, err := c.ListSshKeysWithResponse(cmd.Context())
	if err := c.check(err, r); err != nil {
		return err
	}
	fp := ssh.FingerprintSHA256(pub)
	for _, k := range r.JSON200.Items {
		if k.Fingerprint == fp {
			return nil
		}
	}
	host, _ := os.Hostname()
	cr, err := c.CreateSshKeyWithResponse(cmd.Context(), client.CreateSSHKeyRequest{
		Name: "codepod-cli@" + host, PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
	})
	return c.check(err, cr)
}

func (c *apiClient) sandboxesFor(cmd *cobra.Command, refs []string) ([]client.Sandbox, error) {
	if len(refs) == 0 {
		running := []string{"running"}
		r, err := c.ListSandboxesWithResponse(cmd.Context(), &client.ListSandboxesParams{Status: &running})
		if err := c.check(err, r); err != nil {
			return nil, err
		}
		return r.JSON200.Items, nil
	}
	var out []client.Sandbox
	for _, ref := range refs {
		r, err := c.GetSandboxWithResponse(cmd.Context(), ref)
		if err := c.check(err, r); err != nil {
			return nil, err
		}
		out = append(out, *r.JSON200)
	}
	return out, nil
}

// pinHostKey connects once, checks the host key against the server's
// fingerprint, and records it in the managed known_hosts file.
func (c *apiClient) pinHostKey(cmd *cobra.Command, dir string, sb client.Sandbox) error {
	var key ssh.PublicKey
	sc, _, err := c.sshToWith(cmd.Context(), sb.Id, func(k ssh.PublicKey) { key = k })
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", sb.Name, err)
	}
	sc.Close()
	alias := "codepod-" + sb.Id
	path := filepath.Join(dir, "known_hosts")
	old, _ := os.ReadFile(path)
	var lines []string
	for _, l := range strings.Split(string(old), "\n") {
		if l != "" && !strings.HasPrefix(l, alias+" ") {
			lines = append(lines, l)
		}
	}
	lines = append(lines, alias+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}
