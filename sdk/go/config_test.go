package codepod_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	codepod "github.com/codepod-dev/codepod/sdk/go"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// configEnv clears the CODEPOD_* variables and points XDG_CONFIG_HOME at a
// fresh directory for the test; it returns where the config file goes.
func configEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("CODEPOD_SERVER_URL", "")
	t.Setenv("CODEPOD_API_KEY", "")
	return filepath.Join(dir, "codepod", "config.json")
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// listWorks makes a client from the environment and the config file only
// and lists sandboxes with it.
func listWorks(t *testing.T) error {
	t.Helper()
	c, err := codepod.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	_, err = c.ListSandboxes(t.Context(), nil)
	return err
}

// TestConfigFile: like gh and kubectl, the client falls back to the CLI's
// config file (what `codepod config set` writes) after the environment.
func TestConfigFile(t *testing.T) {
	url, key := sdktest.Shared(t)
	jsonOf := func(u, k string) string { return `{"SERVER_URL": "` + u + `", "API_KEY": "` + k + `"}` }

	t.Run("file only", func(t *testing.T) {
		path := configEnv(t)
		writeConfig(t, path, jsonOf(url, key))
		if p, _ := codepod.ConfigPath(); p != path {
			t.Fatalf("ConfigPath() = %s, want %s", p, path)
		}
		c, err := codepod.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		if c.ServerURL() != strings.TrimRight(url, "/") {
			t.Errorf("ServerURL() = %s, want %s from the file", c.ServerURL(), url)
		}
		if err := listWorks(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("home when XDG_CONFIG_HOME is unset", func(t *testing.T) {
		configEnv(t)
		home := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", "")
		t.Setenv("HOME", home)
		writeConfig(t, filepath.Join(home, ".config", "codepod", "config.json"), jsonOf(url, key))
		if err := listWorks(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("environment beats file", func(t *testing.T) {
		path := configEnv(t)
		writeConfig(t, path, jsonOf("http://127.0.0.1:1", "cp_wrong"))
		t.Setenv("CODEPOD_SERVER_URL", url)
		t.Setenv("CODEPOD_API_KEY", key)
		if err := listWorks(t); err != nil {
			t.Fatal(err)
		}
		// Setting by setting: the URL from the environment, the key from the file.
		writeConfig(t, path, jsonOf("http://127.0.0.1:1", key))
		t.Setenv("CODEPOD_API_KEY", "")
		if err := listWorks(t); err != nil {
			t.Fatal(err)
		}
		// A wrong key in the environment wins over a right one in the file.
		writeConfig(t, path, jsonOf(url, key))
		t.Setenv("CODEPOD_SERVER_URL", "")
		t.Setenv("CODEPOD_API_KEY", "cp_wrong")
		if err := listWorks(t); !errors.Is(err, codepod.ErrUnauthorized) {
			t.Fatalf("with a wrong key in the environment: %v, want ErrUnauthorized", err)
		}
	})
	t.Run("no key anywhere", func(t *testing.T) {
		path := configEnv(t)
		_, err := codepod.NewClient()
		if err == nil || !strings.Contains(err.Error(), "codepod config set API_KEY") || !strings.Contains(err.Error(), path) {
			t.Fatalf("NewClient without a key: %v, want it to name `codepod config set API_KEY` and %s", err, path)
		}
	})
	t.Run("broken file", func(t *testing.T) {
		path := configEnv(t)
		writeConfig(t, path, "{not json")
		if _, err := codepod.NewClient(); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("NewClient with a broken file: %v, want an error naming %s", err, path)
		}
		// Explicit settings need no file.
		if _, err := codepod.NewClient(codepod.WithServerURL(url), codepod.WithAPIKey(key)); err != nil {
			t.Fatal(err)
		}
	})
}
