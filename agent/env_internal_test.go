package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSessionEnvTakesTheSandboxEnvFile checks the order: image (the
// process's environment) < the sandbox's env.json < HOME and friends <
// the session's own variables; and that no file and a bad file give
// sessions the image's environment alone.
func TestSessionEnvTakesTheSandboxEnvFile(t *testing.T) {
	t.Setenv("WARM_IMAGE", "image")
	t.Setenv("WARM_OVER", "image")
	etc := t.TempDir()
	a := &Agent{cfg: Config{EtcDir: etc}, log: slog.New(slog.DiscardHandler)}
	acct := account{name: "root", home: "/root"}
	envOf := func(client ...string) []string {
		env, _ := sessionEnv(acct, "/bin/sh", a.sandboxEnv(), client, "")
		return env
	}
	if env := envOf(); slices.ContainsFunc(env, func(kv string) bool { return kv == "WARM_SANDBOX=sandbox" }) {
		t.Fatalf("no env file, yet %q", env)
	}
	if err := os.WriteFile(filepath.Join(etc, SandboxEnvFile), []byte(`{"WARM_OVER":"sandbox","WARM_SANDBOX":"sandbox","HOME":"/nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf("WARM_SESSION=session")
	for _, want := range []string{"WARM_IMAGE=image", "WARM_OVER=sandbox", "WARM_SANDBOX=sandbox", "WARM_SESSION=session", "HOME=/root"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s: %q", want, env)
		}
	}
	if env := envOf("WARM_OVER=session"); !slices.Contains(env, "WARM_OVER=session") || slices.Contains(env, "WARM_OVER=sandbox") {
		t.Errorf("the session's variable does not win: %q", env)
	}
	if err := os.WriteFile(filepath.Join(etc, SandboxEnvFile), []byte(`not json`), 0o600); err != nil {
		t.Fatal(err)
	}
	if env := envOf(); !slices.Contains(env, "WARM_OVER=image") {
		t.Errorf("a bad env file: %q", env)
	}
}
