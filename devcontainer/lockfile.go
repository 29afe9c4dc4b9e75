package devcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tailscale/hujson"
)

// Lockfile is devcontainer-lock.json, as the reference CLI writes it: per
// OCI feature reference (as devcontainer.json names it), the manifest it
// resolved to and the digest of its layer.
type Lockfile struct {
	Features map[string]LockedFeature `json:"features"`
}

// LockedFeature pins one feature.
type LockedFeature struct {
	Version   string   `json:"version,omitempty"`
	Resolved  string   `json:"resolved"`  // registry/repository@sha256:…
	Integrity string   `json:"integrity"` // sha256:… of the layer
	DependsOn []string `json:"dependsOn,omitempty"`
}

// LockfilePath is where the lockfile of configFile lives:
// devcontainer-lock.json beside it, or .devcontainer-lock.json beside a
// .devcontainer.json (the reference CLI's names).
func LockfilePath(configFile string) string {
	name := "devcontainer-lock.json"
	if strings.HasPrefix(filepath.Base(configFile), ".") {
		name = "." + name
	}
	return filepath.Join(filepath.Dir(configFile), name)
}

// ReadLockfile reads configFile's lockfile; nil (and no error) without one.
func ReadLockfile(configFile string) (*Lockfile, error) {
	p := LockfilePath(configFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	std, err := hujson.Standardize(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	var l Lockfile
	if err := json.Unmarshal(std, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", p, plain(err))
	}
	return &l, nil
}

// WriteLockfile writes l as configFile's lockfile (sorted, two-space
// indented, as the reference CLI does).
func WriteLockfile(configFile string, l *Lockfile) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(LockfilePath(configFile), append(b, '\n'), 0o644)
}
