package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/codepod-dev/codepod"
)

// Preview links carry a token that the proxy checks: "<unix expiry>.<mac>",
// where mac is HMAC-SHA256, keyed by the port's own secret (made when the
// port was opened, kept in the store so every replica checks it), over the
// sandbox id, the port, the owner and the expiry. Closing the port (or
// deleting the sandbox) deletes the secret, which revokes every link.

// previewTokenParam is the query parameter of a preview link; previewCookie
// the cookie a browser gets for the link's path.
const (
	previewTokenParam = "codepod_preview_token"
	previewCookie     = "codepod_preview"
)

// Bounds of a preview link's life.
const (
	DefaultPreviewTTL = time.Hour
	MaxPreviewTTL     = 7 * 24 * time.Hour
)

func previewMAC(p *codepod.SandboxPort, ownerID string, exp int64) []byte {
	m := hmac.New(sha256.New, p.Secret)
	fmt.Fprintf(m, "codepod-preview-v1\x00%s\x00%d\x00%s\x00%d", p.SandboxID, p.Port, ownerID, exp)
	return m.Sum(nil)
}

// mintPreviewToken signs a link to port p of a sandbox of ownerID, valid
// until exp.
func mintPreviewToken(p *codepod.SandboxPort, ownerID string, exp time.Time) string {
	e := exp.Unix()
	return strconv.FormatInt(e, 10) + "." + base64.RawURLEncoding.EncodeToString(previewMAC(p, ownerID, e))
}

// checkPreviewToken verifies tok for port p (constant-time) and that it has
// not expired at now. The error says why not, for the link's visitor.
func checkPreviewToken(p *codepod.SandboxPort, ownerID, tok string, now time.Time) error {
	es, ms, ok := strings.Cut(tok, ".")
	e, err := strconv.ParseInt(es, 10, 64)
	mac, merr := base64.RawURLEncoding.DecodeString(ms)
	if !ok || err != nil || merr != nil || !hmac.Equal(mac, previewMAC(p, ownerID, e)) {
		return codepod.Errorf(codepod.EUNAUTHORIZED, "this preview link is not valid for port %d of this sandbox (or the port was closed since); ask its owner for a new one (codepod sandbox url)", p.Port)
	}
	if !now.Before(time.Unix(e, 0)) {
		return codepod.Errorf(codepod.EUNAUTHORIZED, "this preview link expired at %s; ask its owner for a new one (codepod sandbox url)", time.Unix(e, 0).UTC().Format(time.RFC3339))
	}
	return nil
}
