package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCommands: `config set` writes the file with mode 0600, `get`
// reads it back, and the environment beats the file.
func TestConfigCommands(t *testing.T) {
	home := t.TempDir()
	run := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(binaries(t), args...)
		cmd.Env = append(os.Environ(), append([]string{"HOME=" + home, "XDG_CONFIG_HOME=", "CODEPOD_API_KEY=", "CODEPOD_SERVER_URL="}, env...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return strings.TrimSpace(string(out)), code
	}
	if out, _ := run(nil, "config", "get", "SERVER_URL"); out != "http://localhost:3000" {
		t.Fatalf("default SERVER_URL = %q", out)
	}
	if out, code := run(nil, "config", "set", "SERVER_URL", "https://pods.example.com"); code != 0 {
		t.Fatalf("config set: %d %s", code, out)
	}
	run(nil, "config", "set", "api_key", "cpk_key_x_secret")
	fi, err := os.Stat(filepath.Join(home, ".config", "codepod", "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if out, _ := run(nil, "config", "get", "SERVER_URL"); out != "https://pods.example.com" {
		t.Fatalf("SERVER_URL from the file = %q", out)
	}
	if out, _ := run([]string{"CODEPOD_SERVER_URL=http://env:1"}, "config", "get", "SERVER_URL"); out != "http://env:1" {
		t.Fatalf("SERVER_URL with the environment set = %q; the environment must win", out)
	}
	if out, _ := run(nil, "config", "list"); !strings.Contains(out, "API_KEY=cpk_key_x_se…") || strings.Contains(out, "secret") {
		t.Fatalf("config list must show the key shortened: %q", out)
	}
	if out, code := run(nil, "config", "set", "COLOR", "blue"); code == 0 || !strings.Contains(out, "unknown setting") {
		t.Fatalf("unknown key: exit %d, %q", code, out)
	}
}
