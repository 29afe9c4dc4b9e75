package codepod

import (
	"context"
	"time"
)

// Role is what a member may do in a workspace (docs/workspaces.md).
type Role string

const (
	// RoleOwner does everything, including deleting the workspace.
	RoleOwner Role = "owner"
	// RoleAdmin manages members and does all sandbox work.
	RoleAdmin Role = "admin"
	// RoleMember does all sandbox work: create, exec, files, delete.
	RoleMember Role = "member"
	// RoleViewer lists and reads sandboxes (get, logs, file download,
	// process list) but does not exec, write, create, stop or delete.
	RoleViewer Role = "viewer"
)

// Roles lists the roles, most rights first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer}

// ValidRole reports whether r is one of Roles.
func ValidRole(r Role) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// CanWrite reports whether r may change sandboxes (and open sessions).
func (r Role) CanWrite() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// CanManage reports whether r may add, remove and change members.
func (r Role) CanManage() bool { return r == RoleOwner || r == RoleAdmin }

// Workspace owns sandboxes, API keys and webhook endpoints; users are its
// members with a role. Every user has a personal workspace (Personal,
// ID PersonalWorkspaceID(user), named after the user's email) of which they
// are the only member.
type Workspace struct {
	ID        string
	Name      string
	Personal  bool
	OwnerID   string // who created it ("" once that user is gone)
	CreatedAt time.Time
	// Role is the caller's role in it, in ListWorkspaces of a user.
	Role Role
}

// WorkspaceMember is one user's membership of a workspace.
type WorkspaceMember struct {
	WorkspaceID string
	UserID      string
	Role        Role
	CreatedAt   time.Time
	// Email and Name of the user, filled in by ListWorkspaceMembers.
	Email, Name string
}

// PersonalWorkspaceID is the id of userID's personal workspace.
func PersonalWorkspaceID(userID string) string { return "ws_" + userID }

// WorkspaceStore keeps workspaces and their members.
type WorkspaceStore interface {
	// CreateWorkspace inserts w (assigning ID and CreatedAt when empty)
	// and makes w.OwnerID its owner member. A name in use is an ECONFLICT.
	CreateWorkspace(ctx context.Context, w *Workspace) error
	// Workspace returns the workspace whose id or name is ref.
	Workspace(ctx context.Context, ref string) (*Workspace, error)
	// ListWorkspaces returns the workspaces userID is a member of, with
	// their Role (every workspace when userID is ""), oldest first.
	ListWorkspaces(ctx context.Context, userID string) ([]Workspace, error)
	// DeleteWorkspace removes workspace id with its members, keys, webhook
	// endpoints and deleted sandboxes; one with a sandbox that is not
	// deleted is an ECONFLICT.
	DeleteWorkspace(ctx context.Context, id string) error
	// WorkspaceMember returns userID's membership of workspace id.
	WorkspaceMember(ctx context.Context, workspaceID, userID string) (*WorkspaceMember, error)
	ListWorkspaceMembers(ctx context.Context, workspaceID string) ([]WorkspaceMember, error)
	// SetWorkspaceMember adds m or changes its role.
	SetWorkspaceMember(ctx context.Context, m *WorkspaceMember) error
	RemoveWorkspaceMember(ctx context.Context, workspaceID, userID string) error
}
