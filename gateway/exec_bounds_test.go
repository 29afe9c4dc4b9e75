package gateway_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/codepod-dev/codepod/gateway"
)

// TestAttackUTF8TruncationAtEveryOffset cuts output of 1- to 4-byte
// characters at every byte offset: the text sent is always valid UTF-8, a
// prefix of the output, and short of the cap by less than one character.
func TestAttackUTF8TruncationAtEveryOffset(t *testing.T) {
	c := newSandbox(t).client(t)
	const text = "aé✓😀bç€𝄞z"
	for max := 1; max < len(text); max++ {
		res := exec(t, c, gateway.ExecRequest{Command: []string{"printf", "%s", text}, MaxOutputBytes: max})
		got, enc := res.Stdout.Text()
		if enc != gateway.EncodingUTF8 || !utf8.ValidString(got) || !strings.HasPrefix(text, got) || !res.Stdout.Truncated {
			t.Fatalf("cut at %d: %q %s truncated=%v", max, got, enc, res.Stdout.Truncated)
		}
		if len(got) > max || max-len(got) >= utf8.UTFMax {
			t.Errorf("cut at %d kept %d bytes", max, len(got))
		}
	}
}

// TestAttackNULOutputIsBase64 writes text that JSON would inflate six
// times (NUL is \u0000): it is sent as base64 instead, so a stream never
// costs more than twice its bytes in an answer.
func TestAttackNULOutputIsBase64(t *testing.T) {
	c := newSandbox(t).client(t)
	res := exec(t, c, gateway.ExecRequest{Command: []string{"sh", "-c", "head -c 3000000 /dev/zero"}, MaxOutputBytes: 1 << 20})
	if len(res.Stdout.Data) != 1<<20 || !res.Stdout.Truncated {
		t.Fatalf("kept %d bytes, truncated=%v", len(res.Stdout.Data), res.Stdout.Truncated)
	}
	if cap(res.Stdout.Data) > 1<<20 {
		t.Errorf("capture buffer grew to %d bytes, over the cap", cap(res.Stdout.Data))
	}
	text, enc := res.Stdout.Text()
	if enc != gateway.EncodingBase64 || len(text) > 2*len(res.Stdout.Data) {
		t.Fatalf("encoding %s, %d bytes", enc, len(text))
	}
	if dec, _ := base64.StdEncoding.DecodeString(text); !bytes.Equal(dec, res.Stdout.Data) {
		t.Error("base64 does not decode to the output")
	}
	if n := gateway.JSONStringLen([]byte("a\"\\\n\x00")); n != 2+1+2+2+2+6 {
		t.Errorf("JSONStringLen %d", n)
	}
}
