package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/gateway"
)

// TestExecResponseJSON checks the hand-written encoder against
// encoding/json: every byte value, text and binary, truncated or not.
func TestExecResponseJSON(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	rnd := make([]byte, 5000)
	for i := range rnd {
		rnd[i] = byte(rand.IntN(256))
	}
	for _, data := range [][]byte{nil, []byte("plain\ttext \"quoted\" \\ é ✓ 😀\r\n"), all, rnd, []byte("\x00\x01"), []byte("</script>&")} {
		res := &gateway.ExecResult{ExitCode: 3, Signal: "KILL", TimedOut: true, Duration: 1500 * time.Millisecond,
			Stdout: gateway.Output{Data: data, Truncated: true}, Stderr: gateway.Output{Data: data}}
		var buf bytes.Buffer
		if err := writeExecResponse(&buf, res); err != nil {
			t.Fatal(err)
		}
		var got ExecResponse
		dec := json.NewDecoder(&buf)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%q: %v in %s", data, err, buf.String())
		}
		for _, s := range []struct {
			text, enc string
			out       gateway.Output
		}{{got.Stdout, got.StdoutEncoding, res.Stdout}, {got.Stderr, got.StderrEncoding, res.Stderr}} {
			want, wantEnc := s.out.Encoded()
			back := []byte(s.text)
			if s.enc == gateway.EncodingBase64 {
				back, _ = base64.StdEncoding.DecodeString(s.text)
			}
			if s.enc != wantEnc || !bytes.Equal(back, want) {
				t.Errorf("%q: got %q (%s)", data, s.text, s.enc)
			}
		}
		if got.ExitCode != 3 || got.Signal != "KILL" || !got.TimedOut || got.DurationMS != 1500 || !got.StdoutTruncated || got.StderrTruncated {
			t.Errorf("fields %+v", got)
		}
	}
}
