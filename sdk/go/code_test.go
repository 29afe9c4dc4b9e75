package codepod_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	codepod "github.com/codepod-dev/codepod/sdk/go"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// baseSandbox is a running codepod/base sandbox (python3, node, bash),
// deleted when the test ends; without CODEPOD_TEST_BASE_IMAGE=1 (which CI
// sets) the test is skipped.
func baseSandbox(t *testing.T, c *codepod.Client) *codepod.Sandbox {
	t.Helper()
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		t.Skip("set CODEPOD_TEST_BASE_IMAGE=1 to run code contexts on codepod/base")
	}
	bin, err := sdktest.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	if err := sdktest.BaseImage(filepath.Join(bin, "codepod")); err != nil {
		t.Fatal(err)
	}
	sb, err := c.CreateSandbox(t.Context(), codepod.CreateOptions{Image: "codepod/base:latest", Memory: "512m"})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sb
}

func TestRunCode(t *testing.T) {
	c := newClient(t)
	sb := baseSandbox(t, c)
	ctx := t.Context()
	run := func(t *testing.T, code string, o *codepod.CodeOptions) *codepod.CodeResult {
		t.Helper()
		r, err := sb.RunCode(ctx, code, o)
		if err != nil {
			t.Fatalf("RunCode(%q): %v", code, err)
		}
		return r
	}
	if r := run(t, "x = 41", nil); r.Error != nil {
		t.Fatalf("x = 41: %+v", r.Error)
	}
	if r := run(t, "x + 1", nil); codepod.Text(r) != "42" {
		t.Fatalf("x + 1 = %q", codepod.Text(r))
	}
	r := run(t, "import json\njson.loads('{')", nil)
	if r.Error == nil || r.Error.Name != "JSONDecodeError" || r.Error.Traceback == nil || len(*r.Error.Traceback) == 0 {
		t.Fatalf("error: %+v", r.Error)
	}
	r = run(t, "class P:\n    def _repr_html_(self): return '<p>hi</p>'\ndisplay(P())", nil)
	if r.Results == nil || len(*r.Results) != 1 || (*r.Results)[0]["text/html"] != "<p>hi</p>" {
		t.Fatalf("html: %+v", r.Results)
	}
	r = run(t, "import time\nwhile True: time.sleep(0.01)", &codepod.CodeOptions{Timeout: time.Second})
	if !r.Interrupted || r.Error == nil || r.Error.Name != "KeyboardInterrupt" {
		t.Fatalf("interrupt: %+v", r)
	}
	if r := run(t, "x", nil); codepod.Text(r) != "41" {
		t.Fatalf("x after the interrupt = %q", codepod.Text(r))
	}

	js, err := sb.CreateCodeContext(ctx, codepod.JavaScript)
	if err != nil {
		t.Fatal(err)
	}
	run(t, "var s = 'kept'", &codepod.CodeOptions{Context: js.Id})
	if r := run(t, "s.toUpperCase()", &codepod.CodeOptions{Context: js.Id}); codepod.Text(r) != "'KEPT'" {
		t.Fatalf("js: %q", codepod.Text(r))
	}
	list, err := sb.CodeContexts(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("CodeContexts: %+v, %v", list, err)
	}
	if _, err := sb.RestartCodeContext(ctx, js.Id); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "typeof s", &codepod.CodeOptions{Context: js.Id}); codepod.Text(r) != "'undefined'" {
		t.Fatalf("after restart: %q", codepod.Text(r))
	}
	if err := sb.DeleteCodeContext(ctx, js.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.RunCode(ctx, "1", &codepod.CodeOptions{Context: js.Id}); !errors.Is(err, codepod.ErrNotFound) {
		t.Fatalf("a deleted context: %v, want ErrNotFound", err)
	}
	r = run(t, "cd /tmp; V=1", &codepod.CodeOptions{Language: codepod.Bash})
	if r = run(t, "echo $V $PWD", &codepod.CodeOptions{Language: codepod.Bash}); strings.TrimSpace(r.Stdout) != "1 /tmp" {
		t.Fatalf("bash: %+v", r)
	}
}
