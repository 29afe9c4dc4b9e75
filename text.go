package codepod

import (
	"strings"
	"unicode/utf8"
)

// TruncateUTF8 makes s safe to store as text on both databases and cuts it
// to at most n bytes: invalid UTF-8 becomes U+FFFD, NUL bytes (which
// PostgreSQL's text and jsonb refuse) are dropped, and a cut never splits a
// character.
func TruncateUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
