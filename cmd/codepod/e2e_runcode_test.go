package main_test

import (
	"os"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestCLIRunCode drives `codepod sandbox run-code` on a codepod/base
// sandbox: state kept, a traceback on stderr with exit 1, stdin as the
// code, a bash cell's exit status passed through.
func TestCLIRunCode(t *testing.T) {
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		t.Skip("set CODEPOD_TEST_BASE_IMAGE=1 to run code contexts on codepod/base")
	}
	if err := testenv.BaseImage(binaries(t)); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t)
	c.startRunner("r1", t.TempDir())
	c.must("sandbox", "create", "code", "--image", "codepod/base:latest", "--memory", "512m", "--wait", "--timeout", "120s")
	defer c.cli("sandbox", "delete", "code")

	c.must("sandbox", "run-code", "code", "x = 41")
	if out := c.must("sandbox", "run-code", "code", "x + 1"); strings.TrimSpace(out) != "42" {
		t.Errorf("x + 1 printed %q, want 42", out)
	}
	out, errOut, code := c.cli("sandbox", "run-code", "code", "int('nope')")
	if code != 1 || !strings.Contains(errOut, "ValueError: invalid literal") || !strings.Contains(errOut, "Traceback") {
		t.Errorf("a failing cell: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	r := c.run(cliOpts{stdin: strings.NewReader("console.log('from stdin')")}, "sandbox", "run-code", "code", "--language", "javascript", "-")
	if r.code != 0 || string(r.stdout) != "from stdin\n" {
		t.Errorf("code from stdin: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if _, _, code := c.cli("sandbox", "run-code", "code", "-l", "bash", "exit 3"); code != 3 {
		t.Errorf("bash exit 3: exit %d", code)
	}
}
