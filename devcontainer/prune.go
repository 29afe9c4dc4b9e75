package devcontainer

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path"
	"strings"
)

// RemoteEntry is one entry of a directory in the sandbox, as the files
// API lists it (symlinks are listed as symlinks, never followed).
type RemoteEntry struct {
	Name string
	Type string // file, dir, symlink, other
}

// ArchiveEntries lists what a workspace archive (PackWorkspace) holds:
// each entry's path relative to the project folder, and whether it is a
// directory.
func ArchiveEntries(archive string) (map[string]bool, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(path.Clean("/"+h.Name), "/"), "/")
		if rel == "" {
			continue
		}
		out[rel] = h.Typeflag == tar.TypeDir
	}
}

// Gitignored is the matcher PackWorkspace uses with skipGitignored: true
// for a path (relative to dir) the project's top-level .gitignore leaves
// out. Nil when dir has no .gitignore.
func Gitignored(dir string) (func(rel string, isDir bool) bool, error) {
	return gitignore(dir)
}

// StaleEntries walks the sandbox's copy of a workspace (list lists one of
// its directories, relative to the workspace folder, "" being the folder
// itself) and returns what is there but not in local (ArchiveEntries of
// the project), in walk order: what `sync --delete` removes. A directory
// missing locally is returned once, not walked. Only directories that are
// directories on both sides are walked: a symlink is an entry like a
// file (removing it removes the link, never what it points to), so the
// walk never leaves the workspace folder. keep (may be nil) protects
// paths the sync did not send (the .gitignore'd ones with
// --skip-gitignored), as rsync protects excluded files.
func StaleEntries(local map[string]bool, keep func(rel string, isDir bool) bool, list func(dir string) ([]RemoteEntry, error)) ([]string, error) {
	var stale []string
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := list(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name == "" || e.Name == "." || e.Name == ".." || strings.Contains(e.Name, "/") {
				continue
			}
			rel := path.Join(dir, e.Name)
			isDir := e.Type == "dir"
			if keep != nil && keep(rel, isDir) {
				continue
			}
			localDir, ok := local[rel]
			switch {
			case !ok:
				stale = append(stale, rel)
			case isDir && localDir:
				if err := walk(rel); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return stale, walk("")
}
