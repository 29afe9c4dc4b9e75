package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name of the runner's identity file in its state directory.
const StateFile = "runner.json"

// State is the runner's identity, kept in <StateDir>/runner.json (mode 0600)
// so a restart resumes the same runner instead of registering again.
type State struct {
	Server       string    `json:"server"`
	RunnerID     string    `json:"runner_id"`
	Credential   string    `json:"credential"`
	Name         string    `json:"name,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
}

// LoadState reads the identity in dir. A missing file returns (nil, nil).
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read runner state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse runner state %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.RunnerID == "" || s.Credential == "" {
		return nil, fmt.Errorf("runner state %s has no runner id or credential; remove it to register again", filepath.Join(dir, StateFile))
	}
	return &s, nil
}

// SaveState writes s to dir atomically, creating dir with mode 0700 and the
// file with mode 0600: the credential is a secret.
func SaveState(dir string, s *State) error {
	if err := ensurePrivateDir(dir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode runner state: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'), 0o600)
}

// ensurePrivateDir makes dir (and parents) and sets it to 0700.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod state directory: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path, sets its
// mode and renames it into place, so no reader sees half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
