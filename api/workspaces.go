package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
)

// WorkspaceHeader names the workspace a request acts in, by id or name
// (docs/workspaces.md). Without it a sign-in key acts in the caller's
// personal workspace; a key made in a workspace always acts in that one.
const WorkspaceHeader = "Codepod-Workspace"

// inWorkspace returns a copy of u acting in the workspace the request
// asks for (asked: the header), with its role there.
func (s *Server) inWorkspace(ctx context.Context, u *codepod.User, k *codepod.APIKey, asked string) (*codepod.User, error) {
	c := *u
	c.ReadOnly = k != nil && k.ReadOnly
	asked = strings.TrimSpace(asked)
	if k != nil && k.WorkspaceID != "" {
		if asked != "" && asked != k.WorkspaceID {
			w, err := s.st.Workspace(ctx, asked)
			if err != nil || w.ID != k.WorkspaceID {
				return nil, codepod.Errorf(codepod.EFORBIDDEN,
					"this API key belongs to workspace %s and cannot act in workspace %q; leave out the %s header or use a key made in that workspace",
					k.WorkspaceID, asked, WorkspaceHeader)
			}
		}
		asked = k.WorkspaceID
	}
	if asked == "" || asked == codepod.PersonalWorkspaceID(u.ID) {
		c.Workspace, c.Role = codepod.PersonalWorkspaceID(u.ID), codepod.RoleOwner
		return &c, nil
	}
	missing := codepod.Errorf(codepod.ENOTFOUND, "workspace %q not found; `codepod workspace list` shows the workspaces you are a member of", asked)
	w, err := s.st.Workspace(ctx, asked)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, missing
	} else if err != nil {
		return nil, err
	}
	c.Workspace = w.ID
	m, err := s.st.WorkspaceMember(ctx, w.ID, u.ID)
	switch {
	case err == nil:
		c.Role = m.Role
	case codepod.ErrorCode(err) == codepod.ENOTFOUND && u.Admin:
		c.Role = codepod.RoleOwner // server admins act in every workspace
	case codepod.ErrorCode(err) == codepod.ENOTFOUND:
		return nil, missing
	default:
		return nil, err
	}
	return &c, nil
}

// sessionOps are operations by GET that open a session into a sandbox:
// a viewer or a read-only key may not use them.
var sessionOps = map[string]bool{
	"exec-sandbox-stream": true, "open-terminal": true, "open-tunnel": true, "stream-process": true,
}

// writeGate refuses an operation the caller's role or key may not do:
// viewers and read-only keys list and read only.
func writeGate(op *huma.Operation, c *codepod.User) (int, string) {
	read := (op.Method == http.MethodGet || op.Method == http.MethodHead) && !sessionOps[op.OperationID]
	if read {
		return 0, ""
	}
	if c.ReadOnly && op.OperationID != "delete-session" {
		return http.StatusForbidden, op.OperationID + " changes something, and this API key is read-only; use a key that is not read-only (codepod api-key create)"
	}
	p := strings.TrimPrefix(op.Path, Prefix)
	scoped := strings.HasPrefix(p, "/sandboxes") || strings.HasPrefix(p, "/blobs") || strings.HasPrefix(p, "/webhooks")
	if scoped && !c.Role.CanWrite() {
		return http.StatusForbidden, op.OperationID + " is not allowed for role " + string(c.Role) + " in workspace " + c.Workspace +
			": a viewer can list and read only; ask a workspace admin for the member role (codepod workspace member add)"
	}
	return 0, ""
}

// Workspace is a workspace as the API shows it.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Personal  bool      `json:"personal" doc:"The user's own workspace, made with the account; it has no other members."`
	OwnerID   string    `json:"owner_id,omitempty" doc:"Who created it."`
	Role      string    `json:"role,omitempty" enum:"owner,admin,member,viewer" doc:"The caller's role in it."`
	CreatedAt time.Time `json:"created_at"`
}

func newWorkspace(w *codepod.Workspace) Workspace {
	return Workspace{ID: w.ID, Name: w.Name, Personal: w.Personal, OwnerID: w.OwnerID, Role: string(w.Role), CreatedAt: w.CreatedAt}
}

// WorkspaceMember is one member of a workspace.
type WorkspaceMember struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email,omitempty"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role" enum:"owner,admin,member,viewer"`
	CreatedAt time.Time `json:"created_at"`
}

func newMember(m *codepod.WorkspaceMember) WorkspaceMember {
	return WorkspaceMember{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), CreatedAt: m.CreatedAt}
}

// CreateWorkspaceRequest names a new workspace.
type CreateWorkspaceRequest struct {
	Name string `json:"name" minLength:"1" maxLength:"63" doc:"Unique on the server: lowercase letters, digits and '-', e.g. \"team-web\"."`
}

// AddMemberRequest adds a user (by id or email) with a role, or changes
// the role of a member.
type AddMemberRequest struct {
	User string `json:"user" minLength:"1" maxLength:"254" doc:"The user's id or email."`
	Role string `json:"role" enum:"owner,admin,member,viewer" doc:"owner and admin manage members; member does all sandbox work; viewer lists and reads."`
}

// UpdateMemberRequest changes a member's role.
type UpdateMemberRequest struct {
	Role string `json:"role" enum:"owner,admin,member,viewer"`
}

type workspaceOutput struct{ Body Workspace }
type listWorkspacesOutput struct{ Body *List[Workspace] }
type memberOutput struct{ Body WorkspaceMember }
type listMembersOutput struct{ Body *List[WorkspaceMember] }
type memberPath struct {
	ID   string `path:"id" maxLength:"254" doc:"The workspace's id or name."`
	User string `path:"user" maxLength:"254" doc:"The member's user id or email."`
}
type workspacePath struct {
	ID string `path:"id" maxLength:"254" doc:"The workspace's id or name."`
}

// RunnerWorkspacesRequest dedicates a runner to some workspaces.
type RunnerWorkspacesRequest struct {
	Workspaces []string `json:"workspaces" maxItems:"100" doc:"Workspace ids or names; empty: the runner serves every workspace."`
}

func registerWorkspaces(api huma.API, s *Server) {
	op0 := s.operation(adminOnly, http.MethodPut, "/runners/{id}/workspaces", "set-runner-workspaces", "runners", "Dedicate a runner to workspaces", http.StatusNotFound)
	register(api, s, describe(op0, "Placement puts a sandbox only on a runner that serves its workspace: every workspace when the list is empty (the default), else those listed. Sandboxes already placed stay where they are."),
		func(ctx context.Context, in *struct {
			ID   string `path:"id" maxLength:"200" doc:"The runner's id."`
			Body RunnerWorkspacesRequest
		}) (*struct{ Body RunnerWorkspacesRequest }, error) {
			ids := []string{}
			for _, ref := range in.Body.Workspaces {
				w, err := s.st.Workspace(ctx, ref)
				if codepod.ErrorCode(err) == codepod.ENOTFOUND {
					return nil, codepod.Errorf(codepod.ENOTFOUND, "workspace %q not found", ref)
				} else if err != nil {
					return nil, err
				}
				ids = append(ids, w.ID)
			}
			if err := s.ctl.SetRunnerWorkspaces(ctx, in.ID, ids); err != nil {
				return nil, err
			}
			return &struct{ Body RunnerWorkspacesRequest }{Body: RunnerWorkspacesRequest{Workspaces: ids}}, nil
		})

	op := s.operation(userOnly, http.MethodPost, "/workspaces", "create-workspace", "workspaces", "Create a workspace", http.StatusConflict)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "The caller becomes its owner. Act in it with the "+WorkspaceHeader+" header (or `codepod workspace use`)."),
		func(ctx context.Context, in *struct{ Body CreateWorkspaceRequest }) (*workspaceOutput, error) {
			if err := codepod.ValidateName(in.Body.Name); err != nil {
				return nil, codepod.Errorf(codepod.EINVALID, "workspace name: %s", codepod.ErrorMessage(err))
			}
			w := &codepod.Workspace{Name: in.Body.Name, OwnerID: caller(ctx).ID, CreatedAt: s.now()}
			if err := s.st.CreateWorkspace(ctx, w); err != nil {
				return nil, err
			}
			return &workspaceOutput{Body: newWorkspace(w)}, nil
		})

	op = s.operation(userOnly, http.MethodGet, "/workspaces", "list-workspaces", "workspaces", "List the caller's workspaces")
	register(api, s, describe(op, "The workspaces the caller is a member of, with the caller's role; all on one page."),
		func(ctx context.Context, _ *struct{}) (*listWorkspacesOutput, error) {
			ws, err := s.st.ListWorkspaces(ctx, caller(ctx).ID)
			if err != nil {
				return nil, err
			}
			if kw := keyWorkspace(ctx); kw != "" {
				var only []codepod.Workspace
				for _, w := range ws {
					if w.ID == kw {
						only = append(only, w)
					}
				}
				ws = only
			}
			return &listWorkspacesOutput{Body: newList(ws, "", newWorkspace)}, nil
		})

	op = s.operation(userOnly, http.MethodGet, "/workspaces/{id}", "get-workspace", "workspaces", "Get a workspace", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *workspacePath) (*workspaceOutput, error) {
		w, _, err := s.workspaceFor(ctx, in.ID, false)
		if err != nil {
			return nil, err
		}
		return &workspaceOutput{Body: newWorkspace(w)}, nil
	})

	op = s.operation(userOnly, http.MethodDelete, "/workspaces/{id}", "delete-workspace", "workspaces", "Delete a workspace", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Only its owner (or a server admin). Its sandboxes must be deleted first; its keys and webhook endpoints go with it."),
		func(ctx context.Context, in *workspacePath) (*struct{}, error) {
			w, _, err := s.workspaceFor(ctx, in.ID, false)
			if err != nil {
				return nil, err
			}
			switch {
			case w.Personal:
				return nil, codepod.Errorf(codepod.EFORBIDDEN, "workspace %s is a personal workspace; it goes with its user", w.Name)
			case w.Role != codepod.RoleOwner:
				return nil, codepod.Errorf(codepod.EFORBIDDEN, "only an owner of workspace %s can delete it (your role: %s)", w.Name, w.Role)
			}
			return &struct{}{}, s.st.DeleteWorkspace(ctx, w.ID)
		})

	op = s.operation(userOnly, http.MethodGet, "/workspaces/{id}/members", "list-workspace-members", "workspaces", "List a workspace's members", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *workspacePath) (*listMembersOutput, error) {
		w, _, err := s.workspaceFor(ctx, in.ID, false)
		if err != nil {
			return nil, err
		}
		ms, err := s.st.ListWorkspaceMembers(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		return &listMembersOutput{Body: newList(ms, "", newMember)}, nil
	})

	op = s.operation(userOnly, http.MethodPost, "/workspaces/{id}/members", "add-workspace-member", "workspaces", "Add a member or change a role", http.StatusNotFound)
	op.DefaultStatus = http.StatusCreated
	register(api, s, describe(op, "Owners and admins only; only an owner makes an owner."),
		func(ctx context.Context, in *struct {
			ID   string `path:"id" maxLength:"254" doc:"The workspace's id or name."`
			Body AddMemberRequest
		}) (*memberOutput, error) {
			return s.setMember(ctx, in.ID, in.Body.User, codepod.Role(in.Body.Role))
		})

	op = s.operation(userOnly, http.MethodPatch, "/workspaces/{id}/members/{user}", "update-workspace-member", "workspaces", "Change a member's role", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"254" doc:"The workspace's id or name."`
		User string `path:"user" maxLength:"254" doc:"The member's user id or email."`
		Body UpdateMemberRequest
	}) (*memberOutput, error) {
		return s.setMember(ctx, in.ID, in.User, codepod.Role(in.Body.Role))
	})

	op = s.operation(userOnly, http.MethodDelete, "/workspaces/{id}/members/{user}", "remove-workspace-member", "workspaces", "Remove a member", http.StatusNotFound)
	op.DefaultStatus = http.StatusNoContent
	register(api, s, describe(op, "Owners and admins remove anyone but the last owner; any member may remove themselves."),
		func(ctx context.Context, in *memberPath) (*struct{}, error) {
			w, _, err := s.workspaceFor(ctx, in.ID, false)
			if err != nil {
				return nil, err
			}
			u, err := s.userRef(ctx, in.User)
			if err != nil {
				return nil, err
			}
			if u.ID != caller(ctx).ID && !w.Role.CanManage() {
				return nil, codepod.Errorf(codepod.EFORBIDDEN, "removing members of workspace %s needs the owner or admin role (yours: %s)", w.Name, w.Role)
			}
			if err := s.keepAnOwner(ctx, w, u.ID); err != nil {
				return nil, err
			}
			return &struct{}{}, s.st.RemoveWorkspaceMember(ctx, w.ID, u.ID)
		})
}

// workspaceFor returns workspace ref with the caller's role in it; one the
// caller is not a member of is ENOTFOUND (server admins see all, as owner).
func (s *Server) workspaceFor(ctx context.Context, ref string, _ bool) (*codepod.Workspace, *codepod.User, error) {
	c := caller(ctx)
	missing := codepod.Errorf(codepod.ENOTFOUND, "workspace %q not found; `codepod workspace list` shows the workspaces you are a member of", ref)
	w, err := s.st.Workspace(ctx, ref)
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, nil, missing
	} else if err != nil {
		return nil, nil, err
	}
	m, err := s.st.WorkspaceMember(ctx, w.ID, c.ID)
	switch {
	case err == nil:
		w.Role = m.Role
	case codepod.ErrorCode(err) == codepod.ENOTFOUND && c.Admin:
		w.Role = codepod.RoleOwner
	case codepod.ErrorCode(err) == codepod.ENOTFOUND:
		return nil, nil, missing
	default:
		return nil, nil, err
	}
	if kw := keyWorkspace(ctx); kw != "" && kw != w.ID {
		return nil, nil, missing // a workspace's key sees only its workspace
	}
	return w, c, nil
}

// userRef finds a user by id or email.
func (s *Server) userRef(ctx context.Context, ref string) (*codepod.User, error) {
	var u *codepod.User
	var err error
	if strings.Contains(ref, "@") {
		u, err = s.st.UserByEmail(ctx, ref)
	} else {
		u, err = s.st.User(ctx, ref)
	}
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "user %q not found; name them by id or email", ref)
	}
	return u, err
}

func (s *Server) setMember(ctx context.Context, ref, userRef string, role codepod.Role) (*memberOutput, error) {
	w, _, err := s.workspaceFor(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	switch {
	case !codepod.ValidRole(role):
		return nil, codepod.Errorf(codepod.EINVALID, "role %q must be one of owner, admin, member, viewer", role)
	case w.Personal:
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "workspace %s is personal and has no other members; create a shared one with `codepod workspace create`", w.Name)
	case !w.Role.CanManage():
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "managing members of workspace %s needs the owner or admin role (yours: %s)", w.Name, w.Role)
	case role == codepod.RoleOwner && w.Role != codepod.RoleOwner:
		return nil, codepod.Errorf(codepod.EFORBIDDEN, "only an owner of workspace %s makes owners", w.Name)
	}
	u, err := s.userRef(ctx, userRef)
	if err != nil {
		return nil, err
	}
	if role != codepod.RoleOwner {
		if err := s.keepAnOwner(ctx, w, u.ID); err != nil {
			return nil, err
		}
	}
	m := &codepod.WorkspaceMember{WorkspaceID: w.ID, UserID: u.ID, Role: role, CreatedAt: s.now(), Email: u.Email, Name: u.Name}
	if err := s.st.SetWorkspaceMember(ctx, m); err != nil {
		return nil, err
	}
	return &memberOutput{Body: newMember(m)}, nil
}

// keepAnOwner refuses to take the owner role from userID when they are
// the workspace's last owner.
func (s *Server) keepAnOwner(ctx context.Context, w *codepod.Workspace, userID string) error {
	ms, err := s.st.ListWorkspaceMembers(ctx, w.ID)
	if err != nil {
		return err
	}
	owners, isOwner := 0, false
	for _, m := range ms {
		if m.Role == codepod.RoleOwner {
			owners++
			isOwner = isOwner || m.UserID == userID
		}
	}
	if isOwner && owners == 1 {
		return codepod.Errorf(codepod.ECONFLICT, "this is the last owner of workspace %s; make another member owner first", w.Name)
	}
	return nil
}
