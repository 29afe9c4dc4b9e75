package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestExecArgvWithoutShell runs REST execs in a real container (busybox):
// a command array is run as it is, without a shell — its arguments are
// literal, it sees the request's env and cwd and the sandbox's PATH, and a
// missing program exits 127 — while the shell form starts sh. A shell
// exports SHLVL; the image's own environment has none, so SHLVL in a
// command's environment says a shell ran.
func TestExecArgvWithoutShell(t *testing.T) {
	c := sharedCluster(t)
	sb := newSandbox(t, c, "e2e-argv")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exec := func(req map[string]any) execResult { t.Helper(); return c.exec(ctx, t, sb.ID, req) }

	t.Run("arguments are literal", func(t *testing.T) {
		res := exec(map[string]any{"command": []string{"printf", "%s|", "a b", "*", "$HOME", "it's", `"q"`, "", "~", "x;y", "a\nb"}})
		if want := "a b|*|$HOME|it's|\"q\"||~|x;y|a\nb|"; res.ExitCode != 0 || res.Stdout != want || res.Stderr != "" {
			t.Errorf("got %+v, want stdout %q", res, want)
		}
	})
	t.Run("env and cwd, no shell", func(t *testing.T) {
		res := exec(map[string]any{"command": []string{"env"}, "env": map[string]string{"FOO": "bar baz"}, "cwd": "/tmp"})
		for _, want := range []string{"FOO=bar baz\n", "PWD=/tmp\n", "PATH=/usr/local/sbin:"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("env lacks %q: %q", want, res.Stdout)
			}
		}
		if strings.Contains(res.Stdout, "SHLVL=") {
			t.Errorf("a shell ran the command array: %q", res.Stdout)
		}
		if res := exec(map[string]any{"command": []string{"pwd"}, "cwd": "/tmp"}); res.Stdout != "/tmp\n" {
			t.Errorf("pwd: %+v", res)
		}
	})
	t.Run("the shell form starts a shell", func(t *testing.T) {
		res := exec(map[string]any{"shell": `echo "$FOO" /b*; env`, "env": map[string]string{"FOO": "bar baz"}})
		if !strings.HasPrefix(res.Stdout, "bar baz /bin\n") || !strings.Contains(res.Stdout, "SHLVL=") {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("missing command", func(t *testing.T) {
		res := exec(map[string]any{"command": []string{"no-such-program", "x"}})
		if res.ExitCode != 127 || !strings.Contains(res.Stderr, "no-such-program: command not found") {
			t.Errorf("got %+v", res)
		}
		res = exec(map[string]any{"command": []string{"/etc/passwd"}})
		if res.ExitCode != 126 || !strings.Contains(res.Stderr, "/etc/passwd") {
			t.Errorf("a file that is not executable: %+v", res)
		}
	})
	t.Run("stdin and exit code", func(t *testing.T) {
		res := exec(map[string]any{"command": []string{"sh", "-c", "cat; exit 3"}, "stdin": "in put"})
		if res.ExitCode != 3 || res.Stdout != "in put" {
			t.Errorf("got %+v", res)
		}
	})
}
