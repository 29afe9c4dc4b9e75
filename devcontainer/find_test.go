package devcontainer_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/devcontainer"
)

func tree(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  []string
		config string
		want   string // relative to the folder; "" when an error is expected
		errHas string
	}{
		{"folder config first", []string{".devcontainer/devcontainer.json", ".devcontainer.json", ".devcontainer/py/devcontainer.json"}, "", ".devcontainer/devcontainer.json", ""},
		{"top-level file next", []string{".devcontainer.json", ".devcontainer/py/devcontainer.json"}, "", ".devcontainer.json", ""},
		{"one subfolder config", []string{".devcontainer/py/devcontainer.json"}, "", ".devcontainer/py/devcontainer.json", ""},
		{"several subfolder configs", []string{".devcontainer/py/devcontainer.json", ".devcontainer/go/devcontainer.json"}, "", "",
			"has 2 devcontainer configs; choose one with --config: .devcontainer/go/devcontainer.json, .devcontainer/py/devcontainer.json"},
		{"--config chooses", []string{".devcontainer/py/devcontainer.json", ".devcontainer/go/devcontainer.json"}, ".devcontainer/go/devcontainer.json", ".devcontainer/go/devcontainer.json", ""},
		{"--config missing", []string{".devcontainer.json"}, "nope.json", "", "nope.json: stat"},
		{"nothing there", []string{"README.md"}, "", "", "no devcontainer.json found in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tree(t, tc.files...)
			got, err := devcontainer.Find(dir, tc.config)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Find = %q, %v; want an error containing %q", got, err, tc.errHas)
				}
				return
			}
			if err != nil || got != filepath.Join(dir, tc.want) {
				t.Fatalf("Find = %q, %v; want %s", got, err, tc.want)
			}
		})
	}
	_, err := devcontainer.Find(t.TempDir(), "")
	if !errors.Is(err, devcontainer.ErrNotFound) {
		t.Fatalf("empty folder: %v, want ErrNotFound", err)
	}
}

func TestWorkspaceFolder(t *testing.T) {
	for in, want := range map[string]string{
		"/src/app/.devcontainer/devcontainer.json":    "/src/app",
		"/src/app/.devcontainer/py/devcontainer.json": "/src/app",
		"/src/app/.devcontainer.json":                 "/src/app",
		"/tmp/x/devcontainer.json":                    "/tmp/x",
	} {
		if got := devcontainer.WorkspaceFolder(in); got != want {
			t.Errorf("WorkspaceFolder(%s) = %s, want %s", in, got, want)
		}
	}
}
