package token_test

import (
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/agent/token"
)

func TestVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	tok := token.Mint(secret, "sb1", now.Add(time.Minute))
	bound := token.MintFor(secret, "sb1", "key_a", now.Add(time.Minute))
	if token.Principal(bound) != "key_a" || token.Principal(tok) != "" {
		t.Fatalf("Principal(%q) = %q, Principal(%q) = %q", bound, token.Principal(bound), tok, token.Principal(tok))
	}
	cases := []struct {
		name    string
		secret  []byte
		sandbox string
		tok     string
		now     time.Time
		ok      bool
	}{
		{"valid", secret, "sb1", tok, now, true},
		{"expired", secret, "sb1", tok, now.Add(time.Minute), false},
		{"other sandbox", secret, "sb2", tok, now, false},
		{"other secret", []byte("x"), "sb1", tok, now, false},
		{"no secret", nil, "sb1", tok, now, false},
		{"tampered", secret, "sb1", tok[:len(tok)-2] + "AA", now, false},
		{"garbage", secret, "sb1", "cps_!!", now, false},
		{"no prefix", secret, "sb1", tok[4:], now, false},
		{"with principal", secret, "sb1", bound, now, true},
		{"principal swapped", secret, "sb1", strings.TrimSuffix(bound, "key_a") + "key_b", now, false},
		{"principal dropped", secret, "sb1", strings.TrimSuffix(bound, ".key_a"), now, false},
		{"principal added", secret, "sb1", tok + ".key_a", now, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := token.Verify(c.secret, c.sandbox, c.tok, c.now)
			if (err == nil) != c.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, c.ok)
			}
		})
	}
}
