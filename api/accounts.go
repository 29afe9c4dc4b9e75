package api

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/gateway"
)

// QuotaLimits are the limits that apply to a user (0: no limit).
type QuotaLimits struct {
	Sandboxes   int     `json:"sandboxes" doc:"Sandboxes that are not deleted, failed or lost."`
	CPU         float64 `json:"cpu" doc:"Sum of those sandboxes' CPUs."`
	MemoryBytes int64   `json:"memory_bytes" doc:"Sum of those sandboxes' memory limits."`
	Execs       int     `json:"execs" doc:"Concurrent execs (REST and streaming), counted per server replica."`
	Tunnels     int     `json:"tunnels" doc:"Concurrent tunnels and terminals, counted per server replica."`
}

// QuotaOverride is an admin's change to one user's quota. Absent fields are
// left as they are; 0 lifts a limit; -1 drops the override, so the server's
// default applies again.
type QuotaOverride struct {
	Sandboxes   *int     `json:"sandboxes,omitempty" minimum:"-1"`
	CPU         *float64 `json:"cpu,omitempty" minimum:"-1"`
	MemoryBytes *int64   `json:"memory_bytes,omitempty" minimum:"-1"`
	Execs       *int     `json:"execs,omitempty" minimum:"-1"`
	Tunnels     *int     `json:"tunnels,omitempty" minimum:"-1"`
}

// Me is the caller's account with the quota that applies and its use.
type Me struct {
	User
	Quota QuotaLimits `json:"quota" doc:"The limits that apply to you (0: no limit)."`
	Usage QuotaLimits `json:"usage" doc:"What you hold now (execs and tunnels on the replica that answered)."`
}

// UpdateUserRequest changes a user.
type UpdateUserRequest struct {
	Quota    *QuotaOverride `json:"quota,omitempty" doc:"Changes to the user's quota."`
	Password string         `json:"password,omitempty" maxLength:"1024" doc:"A new password (at least 8 characters), e.g. to reset a forgotten one. The user's keys and sessions keep working."`
}

type (
	userIDPath struct {
		ID string `path:"id" maxLength:"200" doc:"The user's id."`
	}
	updateUserInput struct {
		ID   string `path:"id" maxLength:"200" doc:"The user's id."`
		Body UpdateUserRequest
	}
	deleteUserInput struct {
		ID    string `path:"id" maxLength:"200" doc:"The user's id."`
		Force bool   `query:"force" doc:"Also delete the user's sandboxes; without it a user who has sandboxes is a 409."`
	}
	deleteUserOutput struct {
		Status int
		Body   *User
	}
	listUserKeysInput struct {
		ID string `path:"id" maxLength:"200" doc:"The user's id."`
		PageParams
	}
	meOutput struct {
		Body Me
	}
)

func registerAccounts(api huma.API, s *Server) {
	op := s.operation(adminOnly, http.MethodGet, "/users/{id}", "get-user", "users", "Get a user", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *userIDPath) (*userOutput, error) {
		return s.userOut(ctx, in.ID)
	})

	op = s.operation(adminOnly, http.MethodPatch, "/users/{id}", "update-user", "users", "Change a user's quota or password", http.StatusNotFound)
	register(api, s, describe(op, "Overrides the server's quota for one user, field by field (-1 drops a field's override)."), s.updateUser)

	op = s.operation(adminOnly, http.MethodPost, "/users/{id}/disable", "disable-user", "users", "Disable a user", http.StatusNotFound, http.StatusConflict)
	register(api, s, describe(op, "The user's keys stop working at once (401 saying the account is disabled) and their open execs, "+
		"tunnels and terminals end within seconds, on every replica. Their sandboxes stay."), func(ctx context.Context, in *userIDPath) (*userOutput, error) {
		return s.setDisabled(ctx, in.ID, true)
	})

	op = s.operation(adminOnly, http.MethodPost, "/users/{id}/enable", "enable-user", "users", "Enable a disabled user", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *userIDPath) (*userOutput, error) {
		return s.setDisabled(ctx, in.ID, false)
	})

	op = s.operation(adminOnly, http.MethodDelete, "/users/{id}", "delete-user", "users", "Delete a user", http.StatusNotFound, http.StatusConflict)
	op.DefaultStatus = http.StatusNoContent
	userSchema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(User{}), true, "User")
	op.Responses = map[string]*huma.Response{"202": {Description: "Accepted: the user is disabled and deleting; it is removed once its sandboxes are.",
		Content: map[string]*huma.MediaType{"application/json": {Schema: userSchema}}}}
	register(api, s, describe(op, "Deletes the user with their API and SSH keys (204). A user who still has sandboxes is a 409 unless "+
		"force is set; then the user is disabled at once, each sandbox is deleted as `sandbox delete` would, and the answer is 202 "+
		"with the user (deleting: true) until the runners have removed the containers, after which the user is removed."), s.deleteUser)

	op = s.operation(adminOnly, http.MethodGet, "/users/{id}/api-keys", "list-user-api-keys", "users", "List a user's API keys", http.StatusNotFound)
	register(api, s, op, func(ctx context.Context, in *listUserKeysInput) (*listAPIKeysOutput, error) {
		if _, err := s.st.User(ctx, in.ID); err != nil {
			return nil, err
		}
		keys, next, err := s.st.ListAPIKeys(ctx, in.ID, in.page())
		if err != nil {
			return nil, err
		}
		return &listAPIKeysOutput{Body: newList(keys, next, newAPIKey)}, nil
	})

	op = s.operation(userOnly, http.MethodGet, "/me", "get-me", "auth", "Get the caller's account, quota and usage")
	register(api, s, op, s.me)
}

func (s *Server) userOut(ctx context.Context, id string) (*userOutput, error) {
	u, err := s.st.User(ctx, id)
	if err != nil {
		return nil, err
	}
	return &userOutput{Body: newUser(u)}, nil
}

func (s *Server) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	u, err := s.st.User(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if in.Body.Password != "" {
		if u, err = s.resetPassword(ctx, in.ID, in.Body.Password); err != nil {
			return nil, err
		}
	}
	if in.Body.Quota == nil {
		return &userOutput{Body: newUser(u)}, nil
	}
	q := in.Body.Quota.apply(u.Quota)
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if u, err = s.st.UpdateUser(ctx, in.ID, codepod.UserUpdate{Quota: &q}); err != nil {
		return nil, err
	}
	logger(ctx).Info("user quota changed", "user_id", u.ID, "quota", s.ctl.Quota(u).String())
	return &userOutput{Body: newUser(u)}, nil
}

// resetPassword sets user id's password.
func (s *Server) resetPassword(ctx context.Context, id, password string) (*codepod.User, error) {
	if len(password) < 8 {
		return nil, codepod.Errorf(codepod.EINVALID, "password must be at least 8 characters")
	}
	release, err := s.hashing.enter(ctx) // the same gate as logins: hashing takes 19 MiB
	if errors.Is(err, errHashBusy) {
		return nil, tooMany(time.Second, "the server is hashing as many passwords as it may at once")
	} else if err != nil {
		return nil, err
	}
	phc := hashPassword(password)
	release()
	u, err := s.st.UpdateUser(ctx, id, codepod.UserUpdate{PasswordHash: &phc})
	if err == nil {
		logger(ctx).Info("user password reset", "user_id", id)
	}
	return u, err
}

// apply returns cur changed by o: -1 drops a field's override.
func (o *QuotaOverride) apply(cur codepod.QuotaOverride) codepod.QuotaOverride {
	set := func(dst **int, v *int) {
		if v != nil {
			*dst = v
			if *v == -1 {
				*dst = nil
			}
		}
	}
	set(&cur.Sandboxes, o.Sandboxes)
	set(&cur.Execs, o.Execs)
	set(&cur.Tunnels, o.Tunnels)
	if o.CPU != nil {
		cur.CPU = o.CPU
		if *o.CPU == -1 {
			cur.CPU = nil
		}
	}
	if o.MemoryBytes != nil {
		cur.MemoryBytes = o.MemoryBytes
		if *o.MemoryBytes == -1 {
			cur.MemoryBytes = nil
		}
	}
	return cur
}

// setDisabled disables or enables user id; disabling ends their sessions.
func (s *Server) setDisabled(ctx context.Context, id string, disable bool) (*userOutput, error) {
	if disable && id == caller(ctx).ID {
		return nil, codepod.Errorf(codepod.ECONFLICT, "you cannot disable your own account; ask another admin")
	}
	var at *time.Time
	if disable {
		now := s.now()
		at = &now
	}
	u, err := s.st.UpdateUser(ctx, id, codepod.UserUpdate{DisabledAt: &at})
	if err != nil {
		return nil, err
	}
	if disable {
		n := s.sessions.RevokeUser(id, disabled())
		logger(ctx).Info("user disabled", "user_id", id, "sessions_ended", n)
	} else {
		logger(ctx).Info("user enabled", "user_id", id)
	}
	return &userOutput{Body: newUser(u)}, nil
}

func (s *Server) deleteUser(ctx context.Context, in *deleteUserInput) (*deleteUserOutput, error) {
	if in.ID == caller(ctx).ID {
		return nil, codepod.Errorf(codepod.ECONFLICT, "you cannot delete your own account; ask another admin")
	}
	gone, err := s.ctl.DeleteUser(ctx, in.ID, in.Force)
	if err != nil {
		return nil, err
	}
	n := s.sessions.RevokeUser(in.ID, codepod.Errorf(codepod.EUNAUTHORIZED, "this account was deleted"))
	logger(ctx).Info("user deleted", "user_id", in.ID, "gone", gone, "sessions_ended", n)
	if gone {
		return &deleteUserOutput{Status: http.StatusNoContent}, nil
	}
	out, err := s.userOut(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &deleteUserOutput{Status: http.StatusAccepted, Body: &out.Body}, nil
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	u := caller(ctx)
	usage, err := s.ctl.QuotaUsage(ctx, u)
	if err != nil {
		return nil, err
	}
	q := s.ctl.Quota(u)
	return &meOutput{Body: Me{
		User:  newUser(u),
		Quota: QuotaLimits{Sandboxes: q.Sandboxes, CPU: q.CPU, MemoryBytes: q.MemoryBytes, Execs: q.Execs, Tunnels: q.Tunnels},
		Usage: QuotaLimits{Sandboxes: usage.Sandboxes, CPU: usage.CPU, MemoryBytes: usage.MemoryBytes,
			Execs: s.sessions.Count(u.ID, gateway.SessionExec), Tunnels: s.sessions.Count(u.ID, gateway.SessionTunnel)},
	}}, nil
}
