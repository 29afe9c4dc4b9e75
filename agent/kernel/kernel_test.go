package kernel_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/agent/kernel"
	"github.com/codepod-dev/codepod/agent/proc"
)

// launch runs kernels as the test's user, in a temporary directory.
func launch(t *testing.T) kernel.Launch {
	r := proc.NewReaper(false, slog.New(slog.DiscardHandler))
	return kernel.Launch{Env: os.Environ(), Dir: t.TempDir(), Start: r.Start}
}

func need(t *testing.T, prog string) {
	if _, err := exec.LookPath(prog); err != nil {
		t.Skipf("%s is not installed", prog)
	}
}

func run(t *testing.T, m *kernel.Manager, l kernel.Launch, ctxID, lang, code string, timeoutMS int64) *kernel.Result {
	t.Helper()
	res, err := m.Run(context.Background(), kernel.Request{Context: ctxID, Language: lang, Code: code, TimeoutMS: timeoutMS}, l)
	if err != nil {
		t.Fatalf("run %q: %v", code, err)
	}
	return res
}

func TestPythonContext(t *testing.T) {
	need(t, "python3")
	m, l := kernel.NewManager(), launch(t)
	defer m.Close()
	if r := run(t, m, l, "", "python", "x = 41\nprint('hi')", 0); r.Stdout != "hi\n" || r.Error != nil || len(r.Results) != 0 {
		t.Fatalf("x = 41: %+v", r)
	}
	if r := run(t, m, l, "", "python", "x + 1", 0); len(r.Results) != 1 || r.Results[0]["text/plain"] != "42" || r.ExecutionCount != 2 {
		t.Fatalf("x + 1: %+v", r)
	}
	r := run(t, m, l, "", "python", "def f():\n    raise ValueError('bad value')\nf()", 0)
	if r.Error == nil || r.Error.Name != "ValueError" || r.Error.Value != "bad value" || !strings.Contains(strings.Join(r.Error.Traceback, ""), "in f") ||
		strings.Contains(strings.Join(r.Error.Traceback, ""), "_run") {
		t.Fatalf("error: %+v", r.Error)
	}
	r = run(t, m, l, "", "python", "class H:\n    def _repr_html_(self): return '<b>hi</b>'\nH()", 0)
	if len(r.Results) != 1 || r.Results[0]["text/html"] != "<b>hi</b>" {
		t.Fatalf("html: %+v", r.Results)
	}
	r = run(t, m, l, "", "python", "import sys, os\nsys.stderr.write('e\\n')\n_ = os.system('echo child')\n", 0)
	if r.Stderr != "e\n" || r.Stdout != "child\n" {
		t.Fatalf("streams: %+v", r)
	}
	r = run(t, m, l, "", "python", "while True: pass", 300)
	if !r.Interrupted || r.Error == nil || r.Error.Name != "KeyboardInterrupt" || r.Restarted {
		t.Fatalf("interrupt: %+v", r)
	}
	if r := run(t, m, l, "", "python", "x", 0); len(r.Results) != 1 || r.Results[0]["text/plain"] != "41" {
		t.Fatalf("after the interrupt: %+v", r)
	}
}

func TestJavaScriptContext(t *testing.T) {
	need(t, "node")
	m, l := kernel.NewManager(), launch(t)
	defer m.Close()
	info, err := m.Create("javascript", l)
	if err != nil {
		t.Fatal(err)
	}
	run(t, m, l, info.ID, "", "let x = 41; console.log('hi')", 0)
	if r := run(t, m, l, info.ID, "", "x + 1", 0); len(r.Results) != 1 || r.Results[0]["text/plain"] != "42" {
		t.Fatalf("x + 1: %+v", r)
	}
	if r := run(t, m, l, info.ID, "", "null.y", 0); r.Error == nil || r.Error.Name != "TypeError" {
		t.Fatalf("error: %+v", r)
	}
	if r := run(t, m, l, info.ID, "", "while (true) {}", 300); !r.Interrupted || r.Restarted {
		t.Fatalf("interrupt: %+v", r)
	}
	if r := run(t, m, l, info.ID, "", "x", 0); len(r.Results) != 1 || r.Results[0]["text/plain"] != "41" {
		t.Fatalf("after the interrupt: %+v", r)
	}
	if _, err := m.Restart(info.ID); err != nil {
		t.Fatal(err)
	}
	if r := run(t, m, l, info.ID, "", "typeof x", 0); len(r.Results) != 1 || r.Results[0]["text/plain"] != "'undefined'" {
		t.Fatalf("after the restart: %+v", r)
	}
}

func TestBashContext(t *testing.T) {
	need(t, "bash")
	m, l := kernel.NewManager(), launch(t)
	defer m.Close()
	run(t, m, l, "", "bash", "X=41; mkdir -p sub && cd sub; f() { echo fn; }", 0)
	r := run(t, m, l, "", "bash", "echo $((X+1)) $(basename $PWD); f; false", 0)
	if r.Stdout != "42 sub\nfn\n" || r.ExitCode == nil || *r.ExitCode != 1 {
		t.Fatalf("state: %+v", r)
	}
	if r := run(t, m, l, "", "bash", "while :; do :; done", 300); !r.Interrupted || r.Restarted {
		t.Fatalf("interrupt: %+v", r)
	}
	if r := run(t, m, l, "", "bash", "echo $X", 0); r.Stdout != "41\n" {
		t.Fatalf("after the interrupt: %+v", r)
	}
	if infos := m.List(); len(infos) != 1 || !strings.HasSuffix(infos[0].Cwd, "/sub") {
		t.Fatalf("list: %+v", infos)
	}
}

func TestLimits(t *testing.T) {
	need(t, "bash")
	m, l := kernel.NewManager(), launch(t)
	defer m.Close()
	for i := 0; i < kernel.MaxContexts; i++ {
		if _, err := m.Create("bash", l); err != nil {
			t.Fatalf("context %d: %v", i+1, err)
		}
	}
	_, err := m.Create("bash", l)
	var ke *kernel.Error
	if !errors.As(err, &ke) || ke.Code != "conflict" {
		t.Fatalf("context %d: %v, want a conflict", kernel.MaxContexts+1, err)
	}
	id := m.List()[0].ID
	r, err := m.Run(context.Background(), kernel.Request{Context: id, Code: "head -c 5000 /dev/zero | tr '\\0' x", MaxOutputBytes: 100}, l)
	if err != nil || !r.StdoutTruncated || len(r.Stdout) != 100 {
		t.Fatalf("truncated output: %+v, %v", r, err)
	}
	if _, err := m.Run(context.Background(), kernel.Request{Language: "cobol", Code: "1"}, l); !errors.As(err, &ke) || ke.Code != "invalid" {
		t.Fatalf("an unknown language: %v", err)
	}
}
