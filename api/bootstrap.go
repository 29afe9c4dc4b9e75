package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/internal/secret"
)

// AdminEmail is the email of the account Bootstrap creates.
const AdminEmail = "admin@localhost"

// AdminKeyFile is the file in the data directory that receives the first
// admin API key.
const AdminKeyFile = "admin-api-key"

// Bootstrap prepares a fresh server. When the store has no user, it creates
// the admin (AdminEmail, admin, no password) with an API key named "admin",
// writes the full key to <dataDir>/admin-api-key (mode 0600) and returns it
// with created=true so the caller can print it once. Later starts, and a
// replica that loses the race to another, return created=false.
func Bootstrap(ctx context.Context, st codepod.Store, dataDir string) (adminKey string, created bool, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: count users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	sec := secret.New(secret.APIKey, secret.NewID("key"))
	err = st.InTx(ctx, func(tx codepod.Store) error {
		if n, err := tx.CountUsers(ctx); err != nil || n > 0 {
			return err
		}
		u := &codepod.User{Email: AdminEmail, Name: "Admin", Admin: true, CreatedAt: time.Now()}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		k := &codepod.APIKey{ID: sec.ID, UserID: u.ID, Name: "admin", Prefix: sec.Prefix, Hash: sec.Hash, CreatedAt: time.Now()}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		created = true
		return writeSecretFile(filepath.Join(dataDir, AdminKeyFile), sec.Full)
	})
	switch {
	case codepod.ErrorCode(err) == codepod.ECONFLICT:
		return "", false, nil // another replica bootstrapped first
	case err != nil:
		return "", false, fmt.Errorf("bootstrap admin: %w", err)
	case !created:
		return "", false, nil
	}
	return sec.Full, true, nil
}

// writeSecretFile writes data to path with mode 0600, atomically.
func writeSecretFile(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".admin-api-key-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.WriteString(data + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
