package codepod_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/codepod-dev/codepod"
)

func TestTruncateUTF8CutsOnCharacters(t *testing.T) {
	s := strings.Repeat("aé€😀", 50)
	for n := 0; n <= len(s)+1; n++ {
		got := codepod.TruncateUTF8(s, n)
		if !utf8.ValidString(got) || len(got) > n || !strings.HasPrefix(s, got) || len(got) < n-3 {
			t.Fatalf("TruncateUTF8(_, %d) = %d bytes %q", n, len(got), got)
		}
	}
}

func TestTruncateUTF8CleansText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\x00b", "ab"},
		{"a\xffb", "a\uFFFDb"},
		{"ok", "ok"},
	} {
		if got := codepod.TruncateUTF8(tc.in, 100); got != tc.want {
			t.Errorf("TruncateUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
