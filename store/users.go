package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/codepod-dev/codepod"
)

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           string    `bun:"id,pk"`
	Email        string    `bun:"email"`
	Name         string    `bun:"name"`
	PasswordHash string    `bun:"password_hash"`
	Admin        bool      `bun:"admin"`
	CreatedAt    time.Time `bun:"created_at"`

	DisabledAt *time.Time            `bun:"disabled_at"`
	Deleting   bool                  `bun:"deleting"`
	Quota      codepod.QuotaOverride `bun:"quota"`
}

func (r *userRow) user() codepod.User {
	return codepod.User{ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash,
		Admin: r.Admin, CreatedAt: r.CreatedAt.UTC(), DisabledAt: dbTimePtr(r.DisabledAt),
		Deleting: r.Deleting, Quota: r.Quota}
}

func (r userRow) pageKey() (time.Time, string) { return r.CreatedAt, r.ID }

// CreateUser inserts u, assigning its ID and CreatedAt when they are empty.
// Emails are stored lowercased: a second account with the same email in any
// case is an ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *codepod.User) error {
	if db.auditTx(ctx) { // carry the request's audit entry (audit.go)
		return db.runInTx(ctx, func(ctx context.Context, tx *DB) error { return tx.CreateUser(ctx, u) })
	}
	setID(&u.ID, PrefixUser)
	codepod.SetAuditTarget(ctx, "user", u.ID, "")
	stamp(&u.CreatedAt, now())
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.DisabledAt = dbTimePtr(u.DisabledAt)
	row := userRow{ID: u.ID, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash, Admin: u.Admin, CreatedAt: u.CreatedAt,
		DisabledAt: u.DisabledAt, Deleting: u.Deleting, Quota: u.Quota}
	return db.runInTx(ctx, func(ctx context.Context, tx *DB) error {
		_, err := tx.idb.NewInsert().Model(&row).Exec(ctx)
		if err := dbError(err, "create user", conflicts{
			"users_email_key": fmt.Sprintf("a user with email %q already exists", u.Email),
			"users_pkey":      fmt.Sprintf("a user with id %q already exists", u.ID),
		}); err != nil {
			return err
		}
		// The user's personal workspace, in the same transaction.
		return tx.CreateWorkspace(ctx, &codepod.Workspace{ID: codepod.PersonalWorkspaceID(u.ID), Name: u.Email,
			Personal: true, OwnerID: u.ID, CreatedAt: u.CreatedAt})
	})
}

// User returns the user with id.
func (db *DB) User(ctx context.Context, id string) (*codepod.User, error) {
	var row userRow
	err := db.idb.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "get user", "user", id)
	}
	u := row.user()
	return &u, nil
}

// UserByEmail returns the user with email, compared case-insensitively.
func (db *DB) UserByEmail(ctx context.Context, email string) (*codepod.User, error) {
	var row userRow
	email = strings.ToLower(strings.TrimSpace(email))
	err := db.idb.NewSelect().Model(&row).Where("email = ?", email).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "get user by email", "user with email", email)
	}
	u := row.user()
	return &u, nil
}

// ListUsers returns a page of users, oldest first.
func (db *DB) ListUsers(ctx context.Context, p codepod.Page) ([]codepod.User, string, error) {
	var rows []userRow
	return listPage(ctx, db.idb.NewSelect().Model(&rows), &rows, "u", p, "list users", (*userRow).user)
}

// CountUsers returns how many users exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	n, err := db.idb.NewSelect().Model((*userRow)(nil)).Count(ctx)
	return int(n), dbError(err, "count users", nil)
}
