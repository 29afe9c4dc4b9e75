package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkRunCode is run_code of `1+1` in a warm Python context against a
// REST exec of `python3 -c 'print(1+1)'` on the same codepod/base sandbox,
// in the same run (docs/benchmarks.md): the context saves the
// interpreter's start. Needs CODEPOD_TEST_BASE_IMAGE=1.
func BenchmarkRunCode(b *testing.B) {
	c := sharedCluster(b)
	sb := baseSandbox(b, c, "bench-code")
	ctx := context.Background()
	path := "/api/v1/sandboxes/" + sb.ID
	code := `{"language":"python","code":"1+1"}`
	call := func(p, body, want string) error {
		status, raw, err := c.raw(ctx, "POST", path+p, strings.NewReader(body), "application/json")
		if err == nil && (status != http.StatusOK || !strings.Contains(string(raw), want)) {
			b.Fatalf("%s: %d %s", p, status, raw)
		}
		return err
	}
	if err := call("/code/run", code, `"text/plain":"2"`); err != nil { // warm the context
		b.Fatal(err)
	}
	b.Run("run_code", func(b *testing.B) {
		measure(b, func() error { return call("/code/run", code, `"text/plain":"2"`) })
	})
	b.Run("exec-python3-c", func(b *testing.B) {
		measure(b, func() error {
			return call("/exec", `{"command":["python3","-c","print(1+1)"]}`, `"stdout":"2\n"`)
		})
	})
}
