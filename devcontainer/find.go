package devcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotFound is returned (wrapped) by Find when a folder has no config.
var ErrNotFound = errors.New("no devcontainer.json found")

// Find returns the devcontainer.json of the project in folder, the way the
// reference CLI looks for it: config when given (relative to folder), else
// .devcontainer/devcontainer.json, else .devcontainer.json, else the one
// .devcontainer/<name>/devcontainer.json. Several of the last kind and
// none chosen is an error listing them.
func Find(folder, config string) (string, error) {
	if config != "" {
		if !filepath.IsAbs(config) {
			config = filepath.Join(folder, config)
		}
		if _, err := os.Stat(config); err != nil {
			return "", fmt.Errorf("devcontainer config %s: %w", config, err)
		}
		return config, nil
	}
	for _, p := range []string{
		filepath.Join(folder, ".devcontainer", "devcontainer.json"),
		filepath.Join(folder, ".devcontainer.json"),
	} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	subs, _ := filepath.Glob(filepath.Join(folder, ".devcontainer", "*", "devcontainer.json"))
	sort.Strings(subs)
	switch len(subs) {
	case 0:
		return "", fmt.Errorf("%w in %s: looked for .devcontainer/devcontainer.json, .devcontainer.json and .devcontainer/<name>/devcontainer.json", ErrNotFound, folder)
	case 1:
		return subs[0], nil
	}
	var rel []string
	for _, s := range subs {
		r, _ := filepath.Rel(folder, s)
		rel = append(rel, r)
	}
	return "", fmt.Errorf("%s has %d devcontainer configs; choose one with --config: %s", folder, len(subs), strings.Join(rel, ", "))
}

// WorkspaceFolder is the project folder a config file belongs to: the
// parent of .devcontainer/ for .devcontainer/devcontainer.json and
// .devcontainer/<name>/devcontainer.json, the file's folder otherwise.
func WorkspaceFolder(configPath string) string {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		abs = configPath
	}
	dir := filepath.Dir(abs)
	switch {
	case filepath.Base(dir) == ".devcontainer":
		return filepath.Dir(dir)
	case filepath.Base(filepath.Dir(dir)) == ".devcontainer":
		return filepath.Dir(filepath.Dir(dir))
	}
	return dir
}
