package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/codepod-dev/codepod/api"
)

func TestSSHKeys(t *testing.T) {
	e := newEnv(t)
	ada := e.newUser("ada@example.com", false)
	bob := e.newUser("bob@example.com", false)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " ada@laptop"

	var k api.SSHKey
	e.do("POST", "/api/v1/ssh-keys", ada, map[string]any{"name": "laptop", "public_key": line + "\n"}).
		want(t, http.StatusCreated).decode(t, &k)
	if k.Fingerprint != ssh.FingerprintSHA256(sshPub) || k.PublicKey != line {
		t.Errorf("stored %+v, want fingerprint %s", k, ssh.FingerprintSHA256(sshPub))
	}
	for _, bad := range []string{"ssh-ed25519 notbase64", "-----BEGIN OPENSSH PRIVATE KEY-----", line + "\n" + line} {
		r := e.do("POST", "/api/v1/ssh-keys", ada, map[string]any{"name": "bad", "public_key": bad})
		wantProblem(t, r, http.StatusUnprocessableEntity)
	}
	var list api.List[api.SSHKey]
	e.do("GET", "/api/v1/ssh-keys", ada, nil).want(t, http.StatusOK).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != k.ID {
		t.Errorf("ada's keys %+v", list)
	}
	e.do("GET", "/api/v1/ssh-keys", bob, nil).want(t, http.StatusOK).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("bob sees %d keys", len(list.Items))
	}
	wantProblem(t, e.do("DELETE", "/api/v1/ssh-keys/"+k.ID, bob, nil), http.StatusNotFound)
	e.do("DELETE", "/api/v1/ssh-keys/"+k.ID, ada, nil).want(t, http.StatusNoContent)
}
