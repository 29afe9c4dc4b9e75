package codepod

import "time"

// User is a person or program that owns sandboxes.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string // argon2id PHC string; "" means password login is disabled
	Admin        bool
	CreatedAt    time.Time
	// DisabledAt is when an admin disabled the account; nil: enabled. A
	// disabled user's keys and sessions stop working at once.
	DisabledAt *time.Time
	// Deleting is set when an admin deleted the account while it still had
	// sandboxes: the user stays disabled until they are gone, then the row
	// is removed (see control's housekeeping).
	Deleting bool
	// Quota overrides the server's default quota, field by field.
	Quota QuotaOverride

	// Workspace, Role and ReadOnly are not stored: the API sets them per
	// request to the workspace the request acts in (docs/workspaces.md),
	// the caller's role there, and whether its key is read-only.
	Workspace string
	Role      Role
	ReadOnly  bool
}

// WorkspaceOf is the workspace u acts in: u.Workspace, else u's personal one.
func (u *User) WorkspaceOf() string {
	if u.Workspace != "" {
		return u.Workspace
	}
	return PersonalWorkspaceID(u.ID)
}

// Disabled reports whether the account is disabled (or being deleted).
func (u *User) Disabled() bool { return u.DisabledAt != nil || u.Deleting }

// UserUpdate changes some fields of a user; nil fields stay as they are.
type UserUpdate struct {
	DisabledAt   **time.Time
	Deleting     *bool
	Quota        *QuotaOverride
	PasswordHash *string // a new password (argon2id PHC string; "" disables password login)
}

// APIKey is a bearer credential of one user. Only the hash of the secret is
// stored; the full key is shown once, at creation.
//
// A key reads "cpk_<ID>_<secret>"; Prefix is "cpk_<ID>", which identifies the
// key in lists without revealing it.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string
	Hash       []byte // SHA-256 of the full key
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time // nil: never
	// WorkspaceID is the one workspace the key acts in; "": a sign-in key
	// (login, web session) that acts in the workspace a request names.
	WorkspaceID string
	// ReadOnly keys list and read, and are refused every change.
	ReadOnly bool
}

// RunnerToken lets a runner register. It may be used by many runners until it
// expires or is deleted. Only its hash is stored.
type RunnerToken struct {
	ID        string
	Prefix    string
	Hash      []byte
	CreatedBy string // user id
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// SSHKey is a public key a user authorizes for SSH into all of their
// sandboxes (e.g. the identity `codepod ssh-config` manages).
type SSHKey struct {
	ID          string
	UserID      string
	Name        string
	PublicKey   string // authorized_keys format
	Fingerprint string // SHA256:…
	CreatedAt   time.Time
}
