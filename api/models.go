package api

import (
	"time"

	"github.com/codepod-dev/codepod"
)

// List is one page of a list. Pass NextCursor back as ?cursor= for the
// next page; it is "" on the last page.
type List[T any] struct {
	Items      []T    `json:"items" nullable:"false" doc:"This page's items."`
	NextCursor string `json:"next_cursor" doc:"Cursor of the next page; empty on the last page."`
}

// PageParams are the query parameters of every list.
type PageParams struct {
	Cursor string `query:"cursor" doc:"Opaque cursor from the previous page's next_cursor; empty for the first page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Most items to return."`
}

func (p PageParams) page() codepod.Page { return codepod.Page{Cursor: p.Cursor, Limit: p.Limit} }

// newList converts a store page to its JSON form.
func newList[D, T any](items []D, next string, conv func(*D) T) *List[T] {
	out := &List[T]{Items: make([]T, 0, len(items)), NextCursor: next}
	for i := range items {
		out.Items = append(out.Items, conv(&items[i]))
	}
	return out
}

// User is a user account as the API shows it (never its password hash).
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email" format:"email"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled" doc:"A disabled user's keys do not work."`
	// DisabledAt is when an admin disabled the user.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	Deleting   bool       `json:"deleting,omitempty" doc:"Deleted with force: removed once its sandboxes are gone."`
	// QuotaOverride is the admin's change to the server's quota for this
	// user; absent: none.
	QuotaOverride *QuotaOverride `json:"quota_override,omitempty" doc:"The user's own limits, where they differ from the server's."`
}

func newUser(u *codepod.User) User {
	out := User{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, CreatedAt: u.CreatedAt,
		Disabled: u.Disabled(), DisabledAt: u.DisabledAt, Deleting: u.Deleting}
	if !u.Quota.IsZero() {
		q := u.Quota
		out.QuotaOverride = &QuotaOverride{Sandboxes: q.Sandboxes, CPU: q.CPU, MemoryBytes: q.MemoryBytes, Execs: q.Execs, Tunnels: q.Tunnels}
	}
	return out
}

// APIKey is an API key as lists show it: its prefix, never the key.
type APIKey struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id" doc:"The key's owner."`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The start of the key (cpk_<id>), enough to recognise it."`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" doc:"Last use, recorded at most once a minute."`
	ExpiresAt  *time.Time `json:"expires_at,omitempty" doc:"When the key stops working; absent: never."`
	// WorkspaceID is the workspace the key acts in; absent: a sign-in key.
	WorkspaceID string `json:"workspace_id,omitempty" doc:"The one workspace the key acts in; absent: a sign-in key (login, web session), which acts in the workspace the Codepod-Workspace header names, by default the personal one."`
	ReadOnly    bool   `json:"read_only,omitempty" doc:"The key lists and reads only."`
}

func newAPIKey(k *codepod.APIKey) APIKey {
	return APIKey{ID: k.ID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt,
		LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, WorkspaceID: k.WorkspaceID, ReadOnly: k.ReadOnly}
}

// NewAPIKey is a key just made: the only time the full key is shown.
type NewAPIKey struct {
	APIKey
	Key string `json:"key" doc:"The full key. It is shown only this once: store it now."`
}

// RunnerToken is a registration token as lists show it.
type RunnerToken struct {
	ID        string     `json:"id"`
	Prefix    string     `json:"prefix" doc:"The start of the token (cpt_<id>)."`
	CreatedBy string     `json:"created_by" doc:"Id of the admin who made it."`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the token stops working; absent: never."`
}

func newRunnerToken(t *codepod.RunnerToken) RunnerToken {
	return RunnerToken{ID: t.ID, Prefix: t.Prefix, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}

// NewRunnerToken is a token just made: the only time it is shown in full.
type NewRunnerToken struct {
	RunnerToken
	Token string `json:"token" doc:"The full registration token for 'codepod runner --token'. Shown only this once."`
}

// SSHKey is an SSH public key authorized in all of its owner's sandboxes.
type SSHKey struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	PublicKey   string    `json:"public_key" doc:"authorized_keys line."`
	Fingerprint string    `json:"fingerprint" doc:"SHA256 fingerprint, as ssh-keygen -l shows it."`
	CreatedAt   time.Time `json:"created_at"`
}

func newSSHKey(k *codepod.SSHKey) SSHKey {
	return SSHKey{ID: k.ID, Name: k.Name, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint, CreatedAt: k.CreatedAt}
}
