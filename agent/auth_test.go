package agent_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/agent/token"
	"golang.org/x/crypto/ssh"
)

func TestAuth(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	stranger, _ := newKey(t)
	tests := []struct {
		name string
		auth ssh.AuthMethod
		ok   bool
	}{
		{"token", ssh.Password(f.token()), true},
		{"expired token", ssh.Password(token.Mint(f.secret, sandboxID, time.Now().Add(-time.Second))), false},
		{"token for another sandbox", ssh.Password(token.Mint(f.secret, "sb-other", time.Now().Add(time.Minute))), false},
		{"token with another secret", ssh.Password(token.Mint([]byte("not the secret"), sandboxID, time.Now().Add(time.Minute))), false},
		{"garbage password", ssh.Password("hunter2"), false},
		{"authorized key", ssh.PublicKeys(f.user), true},
		{"unknown key", ssh.PublicKeys(stranger), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.dial(t, "root", tt.auth)
			if tt.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				defer c.Close()
				if res := run(t, c, "echo ok", nil, nil); res.stdout != "ok\n" {
					t.Errorf("stdout %q", res.stdout)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("accepted")
			}
		})
	}
}

// TestAuthorizedKeysReread checks that keys the runner adds or removes while
// the agent runs take effect at the next login.
func TestAuthorizedKeysReread(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	newcomer, _ := newKey(t)
	if c, err := f.dial(t, "root", ssh.PublicKeys(newcomer)); err == nil {
		c.Close()
		t.Fatal("key accepted before it was authorized")
	}
	path := filepath.Join(f.etc, "authorized_keys")
	write(t, path, ssh.MarshalAuthorizedKey(newcomer.PublicKey()))
	c, err := f.dial(t, "root", ssh.PublicKeys(newcomer))
	if err != nil {
		t.Fatalf("newly authorized key rejected: %v", err)
	}
	c.Close()
	if c, err := f.dial(t, "root", ssh.PublicKeys(f.user)); err == nil {
		c.Close()
		t.Fatal("removed key still accepted")
	}
	write(t, path, nil)
	if c, err := f.dial(t, "root", ssh.PublicKeys(newcomer)); err == nil {
		c.Close()
		t.Fatal("key accepted with an empty authorized_keys")
	}
}

func TestWrongHostKeyRefused(t *testing.T) {
	f := newFixture(t)
	startAgent(t, f)
	other, _ := newKey(t)
	f.hostKey = other.PublicKey()
	if c, err := f.dial(t, "root", ssh.PublicKeys(f.user)); err == nil {
		c.Close()
		t.Fatal("client accepted a host key it did not pin")
	}
}
