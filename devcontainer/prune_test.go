package devcontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestStaleEntries: what sync --delete removes is what the sandbox's
// workspace has and the project does not; a symlink is removed as an
// entry and never walked into (the walk cannot leave the folder); a
// directory missing locally is removed whole; .gitignore'd paths are kept.
func TestStaleEntries(t *testing.T) {
	project := t.TempDir()
	for _, f := range []string{"src/main.go", "src/lib/util.go", "README.md", ".gitignore", "docs/a.md"} {
		p := filepath.Join(project, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		body := "x"
		if f == ".gitignore" {
			body = "node_modules/\n*.log\n"
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := PackWorkspace(project, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Remove()
	local, err := ArchiveEntries(ws.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !local["src"] || !local["src/lib"] || local["src/main.go"] || len(local) != 8 {
		t.Fatalf("archive entries: %v", local)
	}
	// The sandbox's copy: old files, a directory gone locally, a symlink
	// pointing outside the folder, one where the project has a directory,
	// and what .gitignore protects.
	remote := map[string][]RemoteEntry{
		"":        {{"README.md", "file"}, {"docs", "symlink"}, {"etc-link", "symlink"}, {"node_modules", "dir"}, {"old", "dir"}, {"src", "dir"}, {"x.log", "file"}},
		"src":     {{"gone.go", "file"}, {"lib", "dir"}, {"main.go", "file"}},
		"src/lib": {{"util.go", "file"}, {"util_old.go", "file"}},
	}
	var listed []string
	list := func(dir string) ([]RemoteEntry, error) {
		listed = append(listed, dir)
		e, ok := remote[dir]
		if !ok {
			return nil, fmt.Errorf("walked into %q", dir)
		}
		return e, nil
	}
	keep, err := Gitignored(project)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := StaleEntries(local, keep, list)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"etc-link", "old", "src/gone.go", "src/lib/util_old.go"}; !reflect.DeepEqual(stale, want) {
		t.Fatalf("stale: %q, want %q (listed %q)", stale, want, listed)
	}
	// Without the .gitignore protection, what it lists goes too.
	stale, err = StaleEntries(local, nil, list)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"etc-link", "node_modules", "old", "src/gone.go", "src/lib/util_old.go", "x.log"}; !reflect.DeepEqual(stale, want) {
		t.Fatalf("stale without keep: %q, want %q", stale, want)
	}
	// A listing error stops the walk.
	if _, err := StaleEntries(local, nil, func(string) ([]RemoteEntry, error) { return nil, os.ErrPermission }); err == nil {
		t.Fatal("a listing error was ignored")
	}
}
