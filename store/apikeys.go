package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id"`
	Name       string     `bun:"name"`
	Prefix     string     `bun:"prefix"`
	Hash       []byte     `bun:"hash"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	// WorkspaceID is NULL for sign-in keys (login, web session).
	WorkspaceID string `bun:"workspace_id,nullzero"`
	ReadOnly    bool   `bun:"read_only"`
}

func (r apiKeyRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

func (r *apiKeyRow) apiKey() codepod.APIKey {
	return codepod.APIKey{ID: r.ID, UserID: r.UserID, Name: r.Name, Prefix: r.Prefix, Hash: r.Hash,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: dbTimePtr(r.LastUsedAt), ExpiresAt: dbTimePtr(r.ExpiresAt),
		WorkspaceID: r.WorkspaceID, ReadOnly: r.ReadOnly}
}

// CreateAPIKey inserts k, assigning its ID and CreatedAt when they are empty.
func (db *DB) CreateAPIKey(ctx context.Context, k *codepod.APIKey) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateAPIKey(ctx, k) })
	}
	setID(&k.ID, PrefixAPIKey)
	codepod.SetAuditTarget(ctx, "apikey", k.ID, k.UserID)
	stamp(&k.CreatedAt, now())
	k.LastUsedAt, k.ExpiresAt = dbTimePtr(k.LastUsedAt), dbTimePtr(k.ExpiresAt)
	row := apiKeyRow{ID: k.ID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, Hash: k.Hash,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt,
		WorkspaceID: k.WorkspaceID, ReadOnly: k.ReadOnly}
	_, err := db.idb.NewInsert().Model(&row).Exec(ctx)
	return dbError(err, "create API key", conflicts{"": fmt.Sprintf("an API key with id %q already exists", k.ID)})
}

// APIKey returns the API key with id, whoever owns it.
func (db *DB) APIKey(ctx context.Context, id string) (*codepod.APIKey, error) {
	var row apiKeyRow
	if err := db.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "get API key", "API key", id)
	}
	k := row.apiKey()
	return &k, nil
}

// APIKeyAndUser returns key id and its user, read together in one query
// (a join): every authenticated request reads both.
func (db *DB) APIKeyAndUser(ctx context.Context, id string) (*codepod.APIKey, *codepod.User, error) {
	var row struct {
		apiKeyRow `bun:",extend"`
		User      *userRow `bun:"rel:belongs-to,join:user_id=id"`
	}
	err := db.scanOne(ctx, "api_key_and_user", func(arg func(int) any) *bun.SelectQuery {
		return db.idb.NewSelect().Model(&row).Relation("User").Where("k.id = ?", arg(0))
	}, id)
	if err != nil {
		return nil, nil, notFound(err, "get API key", "API key", id)
	}
	if row.User == nil || row.User.ID == "" {
		return nil, nil, codepod.Errorf(codepod.ENOTFOUND, "the user of API key %s is gone", id)
	}
	k, u := row.apiKeyRow.apiKey(), row.User.user()
	return &k, &u, nil
}

// ListAPIKeys returns a page of userID's keys (every user's when userID is
// ""), oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, userID string, p codepod.Page) ([]codepod.APIKey, string, error) {
	var rows []apiKeyRow
	q := db.idb.NewSelect().Model(&rows)
	if userID != "" {
		q = q.Where("k.user_id = ?", userID)
	}
	return listPage(ctx, q, &rows, "k", p, "list API keys", (*apiKeyRow).apiKey)
}

// DeleteAPIKey removes key id of userID (of any user when userID is "").
func (db *DB) DeleteAPIKey(ctx context.Context, userID, id string) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.DeleteAPIKey(ctx, userID, id) })
	}
	q := db.idb.NewDelete().Model((*apiKeyRow)(nil)).Where("id = ?", id)
	if userID != "" {
		q = q.Where("user_id = ?", userID)
	}
	res, err := q.Exec(ctx)
	return mustAffect(res, err, "delete API key", "API key", id)
}

// TouchAPIKey records that key id was used at at.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := db.idb.NewUpdate().Model((*apiKeyRow)(nil)).
		Set("last_used_at = ?", dbTime(at)).Where("id = ?", id).Exec(ctx)
	return mustAffect(res, err, "touch API key", "API key", id)
}
