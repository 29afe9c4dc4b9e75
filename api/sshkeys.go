package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod"
)

// CreateSSHKeyRequest is a public key to authorize.
type CreateSSHKeyRequest struct {
	Name      string `json:"name" minLength:"1" maxLength:"100" doc:"What the key is, e.g. \"laptop\"."`
	PublicKey string `json:"public_key" minLength:"1" maxLength:"16384" doc:"One authorized_keys line, e.g. the content of ~/.ssh/id_ed25519.pub."`
}

type createSSHKeyInput struct {
	Body CreateSSHKeyRequest
}

type sshKeyOutput struct {
	Body SSHKey
}

type listSSHKeysOutput struct {
	Body *List[SSHKey]
}

func registerSSHKeys(api huma.API, s *Server) {
	op := s.operation(userOnly, http.MethodPost, "/ssh-keys", "create-ssh-key", "ssh-keys", "Add an SSH public key", http.StatusConflict)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Authorizes the key for SSH into all of the caller's sandboxes created from now on."),
		s.createSSHKey)

	op = s.operation(userOnly, http.MethodGet, "/ssh-keys", "list-ssh-keys", "ssh-keys", "List the caller's SSH public keys")
	register(api, s, describe(op, "All keys on one page: next_cursor is always empty."),
		func(ctx context.Context, _ *struct{}) (*listSSHKeysOutput, error) {
			keys, err := s.st.ListSSHKeys(ctx, caller(ctx).ID)
			if err != nil {
				return nil, err
			}
			return &listSSHKeysOutput{Body: newList(keys, "", newSSHKey)}, nil
		})

	op = s.operation(userOnly, http.MethodDelete, "/ssh-keys/{id}", "delete-ssh-key", "ssh-keys", "Delete an SSH public key", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, op, func(ctx context.Context, in *idPath) (*struct{}, error) {
		if err := s.st.DeleteSSHKey(ctx, caller(ctx).ID, in.ID); err != nil {
			return nil, err
		}
		return &struct{}{}, nil
	})
}

func (s *Server) createSSHKey(ctx context.Context, in *createSSHKeyInput) (*sshKeyOutput, error) {
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(in.Body.PublicKey))
	if err != nil || strings.TrimSpace(string(rest)) != "" {
		return nil, codepod.Errorf(codepod.EINVALID,
			"public_key must be one authorized_keys line such as \"ssh-ed25519 AAAA… you@host\" (the .pub file, not the private key)")
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	k := &codepod.SSHKey{UserID: caller(ctx).ID, Name: in.Body.Name, PublicKey: line,
		Fingerprint: ssh.FingerprintSHA256(pub), CreatedAt: s.now()}
	if err := s.st.CreateSSHKey(ctx, k); err != nil {
		return nil, err
	}
	return &sshKeyOutput{Body: newSSHKey(k)}, nil
}
