// Package token mints and checks the short-lived SSH tokens a sandbox's agent
// accepts as passwords.
//
// The server keeps a random secret per sandbox and hands it to the runner with
// the create job; the runner gives it to the agent. A token is
//
//	"cps_" + base64url(expiry as 8 big-endian bytes of Unix seconds || HMAC-SHA256(secret, "codepod-ssh-token\x00" + sandboxID + "\x00" + expiry))
//
// so the agent can check it offline (a sandbox with network "none" has no
// route to the server) and a token for one sandbox is worthless in another.
//
// A token minted for a principal (MintFor: the API key that asked for it)
// ends in "." + principal, and the principal is signed with the rest:
//
//	"cps_" + base64url(expiry || HMAC-SHA256(secret, "codepod-ssh-token\x00" + sandboxID + "\x00" + principal + "\x00" + expiry)) + "." + principal
//
// The agent checks it the same way; the server, which can also take such a
// token as a tunnel's credential, reads the principal and refuses it once
// that key is revoked or its user disabled.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

const prefix = "cps_"

// ErrInvalid is returned for a token that is malformed, forged, for another
// sandbox, or expired.
var ErrInvalid = errors.New("invalid or expired ssh token")

// Mint returns a token for sandboxID valid until expires.
func Mint(secret []byte, sandboxID string, expires time.Time) string {
	return MintFor(secret, sandboxID, "", expires)
}

// MintFor returns a token for sandboxID valid until expires that names
// principal (no '.' in it; "" is Mint).
func MintFor(secret []byte, sandboxID, principal string, expires time.Time) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expires.Unix()))
	buf := append(exp[:], sign(secret, sandboxID, principal, exp[:])...)
	tok := prefix + base64.RawURLEncoding.EncodeToString(buf)
	if principal != "" {
		tok += "." + principal
	}
	return tok
}

// Principal returns the principal a token names ("" for none). It does not
// verify the token: call Verify for that.
func Principal(tok string) string {
	_, p, _ := strings.Cut(tok, ".")
	return p
}

// Verify checks tok against secret and sandboxID at time now.
func Verify(secret []byte, sandboxID, tok string, now time.Time) error {
	if len(secret) == 0 || !strings.HasPrefix(tok, prefix) {
		return ErrInvalid
	}
	body, principal, _ := strings.Cut(tok[len(prefix):], ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) != 8+sha256.Size {
		return ErrInvalid
	}
	exp, mac := raw[:8], raw[8:]
	if !hmac.Equal(mac, sign(secret, sandboxID, principal, exp)) {
		return ErrInvalid
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(exp)) {
		return ErrInvalid
	}
	return nil
}

func sign(secret []byte, sandboxID, principal string, exp []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("codepod-ssh-token\x00" + sandboxID + "\x00"))
	if principal != "" {
		h.Write([]byte(principal + "\x00"))
	}
	h.Write(exp)
	return h.Sum(nil)
}
