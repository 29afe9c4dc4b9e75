package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type sshKeyRow struct {
	bun.BaseModel `bun:"table:ssh_keys,alias:sk"`

	ID          string    `bun:"id,pk"`
	UserID      string    `bun:"user_id"`
	Name        string    `bun:"name"`
	PublicKey   string    `bun:"public_key"`
	Fingerprint string    `bun:"fingerprint"`
	CreatedAt   time.Time `bun:"created_at"`
}

func (r *sshKeyRow) sshKey() codepod.SSHKey {
	return codepod.SSHKey{ID: r.ID, UserID: r.UserID, Name: r.Name, PublicKey: r.PublicKey,
		Fingerprint: r.Fingerprint, CreatedAt: r.CreatedAt.UTC()}
}

// CreateSSHKey inserts k, assigning its ID and CreatedAt when they are empty.
// The same key (fingerprint) twice for one user is an ECONFLICT.
func (db *DB) CreateSSHKey(ctx context.Context, k *codepod.SSHKey) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateSSHKey(ctx, k) })
	}
	setID(&k.ID, PrefixSSHKey)
	codepod.SetAuditTarget(ctx, "sshkey", k.ID, k.UserID)
	stamp(&k.CreatedAt, now())
	row := sshKeyRow{ID: k.ID, UserID: k.UserID, Name: k.Name, PublicKey: k.PublicKey,
		Fingerprint: k.Fingerprint, CreatedAt: k.CreatedAt}
	_, err := db.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(err, "create SSH key", conflicts{
		"ssh_keys_user_id_fingerprint_key": fmt.Sprintf("SSH key %s is already registered", k.Fingerprint),
		"ssh_keys_pkey":                    fmt.Sprintf("an SSH key with id %q already exists", k.ID),
	})
}

// ListSSHKeys returns every SSH key of userID, oldest first.
func (db *DB) ListSSHKeys(ctx context.Context, userID string) ([]codepod.SSHKey, error) {
	var rows []sshKeyRow
	err := db.idb.NewSelect().Model(&rows).Where("user_id = ?", userID).
		Order("created_at", "id").Scan(ctx)
	if err != nil {
		return nil, dbError(err, "list SSH keys", nil)
	}
	return convert(rows, (*sshKeyRow).sshKey), nil
}

// DeleteSSHKey removes key id of userID.
func (db *DB) DeleteSSHKey(ctx context.Context, userID, id string) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.DeleteSSHKey(ctx, userID, id) })
	}
	res, err := db.idb.NewDelete().Model((*sshKeyRow)(nil)).
		Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	return mustAffect(res, err, "delete SSH key", "SSH key", id)
}
