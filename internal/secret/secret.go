// Package secret makes and checks CodePod's bearer secrets: API keys
// ("cpk_"), runner registration tokens ("cpt_") and runner credentials
// ("cpr_"). A secret reads "<kind>_<id>_<random>", where the id names the
// stored row and the random part carries 256 bits from crypto/rand. Only a
// SHA-256 hash of the whole secret is stored (the secret is high-entropy, so
// a slow hash adds nothing) and hashes are compared in constant time.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// Kinds of secret, the prefix a user sees.
const (
	APIKey      = "cpk"
	RunnerToken = "cpt"
	RunnerCred  = "cpr"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random identifier with the given prefix, e.g. "sb_…".
func NewID(prefix string) string {
	b := make([]byte, 10)
	rand.Read(b)
	return prefix + "_" + idEncoding.EncodeToString(b)
}

// Secret is a freshly made secret: show Full once, store ID, Prefix and Hash.
type Secret struct {
	Full   string
	ID     string // the row id, e.g. "key_…"
	Prefix string // kind and id, safe to show in lists
	Hash   []byte
}

// New makes a secret of the given kind for a row whose id is id.
func New(kind, id string) Secret {
	b := make([]byte, 32)
	rand.Read(b)
	full := kind + "_" + id + "_" + base64.RawURLEncoding.EncodeToString(b)
	return Secret{Full: full, ID: id, Prefix: kind + "_" + id, Hash: Hash(full)}
}

// randLen is the length of a secret's random part: 32 bytes in base64url.
const randLen = 43

// Parse splits a presented secret into its kind and row id. ok is false when
// it does not have the shape of a secret of that kind.
func Parse(kind, full string) (id string, ok bool) {
	rest, found := strings.CutPrefix(full, kind+"_")
	if !found {
		return "", false
	}
	// The random part is always randLen base64url characters, which may
	// themselves contain '_': split by length, not at the last '_'.
	i := len(rest) - randLen - 1
	if i <= 0 || rest[i] != '_' {
		return "", false
	}
	// A row id is NewID's "<prefix>_<base32>": one '_', inside. This also
	// refuses a secret with a character added or removed whose random part
	// happens to start with '_', which the length split would misread.
	id = rest[:i]
	if strings.Count(id, "_") != 1 || id[0] == '_' || id[len(id)-1] == '_' {
		return "", false
	}
	return id, true
}

// Hash is the stored form of a secret.
func Hash(full string) []byte {
	h := sha256.Sum256([]byte(full))
	return h[:]
}

// Equal reports, in constant time, whether full hashes to stored.
func Equal(stored []byte, full string) bool {
	return subtle.ConstantTimeCompare(stored, Hash(full)) == 1
}
