package secret_test

import (
	"testing"

	"github.com/codepod-dev/codepod/internal/secret"
)

func TestRoundTrip(t *testing.T) {
	id := secret.NewID("key")
	s := secret.New(secret.APIKey, id)
	got, ok := secret.Parse(secret.APIKey, s.Full)
	if !ok || got != id {
		t.Fatalf("Parse(%q) = %q, %v; want %q", s.Full, got, ok, id)
	}
	if !secret.Equal(s.Hash, s.Full) {
		t.Fatal("Equal rejects the secret it made")
	}
	last := "A" // a different last character (the random one may be 'A')
	if s.Full[len(s.Full)-1] == 'A' {
		last = "B"
	}
	if secret.Equal(s.Hash, s.Full+"x") || secret.Equal(s.Hash, s.Full[:len(s.Full)-1]+last) {
		t.Fatal("Equal accepts a different secret")
	}
	for _, bad := range []string{"", "cpk_", "cpt_" + s.Full[4:], s.Full + "x", "cpk_key_abc"} {
		if _, ok := secret.Parse(secret.APIKey, bad); ok {
			t.Errorf("Parse(%q) ok", bad)
		}
	}
	if secret.New(secret.APIKey, id).Full == s.Full {
		t.Fatal("two secrets are equal")
	}
}

// The random part may contain '_' (base64url): every secret must parse.
func TestParseEverySecret(t *testing.T) {
	for range 500 {
		s := secret.New(secret.RunnerCred, secret.NewID("run"))
		if id, ok := secret.Parse(secret.RunnerCred, s.Full); !ok || id != s.ID {
			t.Fatalf("Parse(%q) = %q, %v; want %q", s.Full, id, ok, s.ID)
		}
	}
}
