package control

import (
	"context"
	"fmt"

	"github.com/codepod-dev/codepod"
)

// Quota is the quota that applies to u: the server's, with u's overrides.
func (s *Service) Quota(u *codepod.User) codepod.Quota {
	return s.cfg.Quota.Apply(u.Quota)
}

// QuotaUsage is what the sandboxes of the workspace u acts in hold now
// (sessions are counted by the API server, which holds them).
func (s *Service) QuotaUsage(ctx context.Context, u *codepod.User) (codepod.QuotaUsage, error) {
	usage, err := s.st.QuotaUsage(ctx, u.WorkspaceOf())
	if err != nil {
		return usage, fmt.Errorf("quota usage of %s: %w", u.ID, err)
	}
	return usage, nil
}

// checkQuota refuses a new sandbox of spec in the caller's workspace when
// it would pass the workspace's quota: the server's, with the overrides of
// the workspace's owner (for a personal workspace, the user's own). It runs
// in the create's transaction: QuotaUsage locks the workspace's row on
// PostgreSQL (SQLite has one writer), so creates that race count one after
// the other and never overshoot.
func (s *Service) checkQuota(ctx context.Context, tx codepod.Store, caller *codepod.User, spec codepod.SandboxSpec) error {
	u, err := tx.User(ctx, caller.ID) // the quota as it is now, not as the request began
	if err != nil {
		return err
	}
	if u.Disabled() {
		return codepod.Errorf(codepod.EUNAUTHORIZED, "your account is disabled; ask an admin to enable it")
	}
	ws := caller.WorkspaceOf()
	if ws != codepod.PersonalWorkspaceID(u.ID) {
		w, err := tx.Workspace(ctx, ws)
		if err != nil {
			return err
		}
		if u, err = tx.User(ctx, w.OwnerID); codepod.ErrorCode(err) == codepod.ENOTFOUND {
			u, err = &codepod.User{}, nil // an owner gone: the server's quota
		} else if err != nil {
			return err
		}
	}
	q := s.Quota(u)
	if q.Sandboxes == 0 && q.CPU == 0 && q.MemoryBytes == 0 {
		return nil // no limit: no need to sum what the workspace holds
	}
	usage, err := tx.QuotaUsage(ctx, ws)
	if err != nil {
		return err
	}
	return q.CheckSandbox(usage, spec)
}

// DeleteUser deletes user id with their keys. A user who still has
// sandboxes is an ECONFLICT unless force is set; with force the user is
// disabled and marked deleting at once, each sandbox is deleted the way
// DeleteSandbox does, and the user's row goes when the last one is gone
// (now, or later in housekeeping when runners must remove containers).
// gone reports whether the user no longer exists.
func (s *Service) DeleteUser(ctx context.Context, id string, force bool) (gone bool, err error) {
	err = s.st.DeleteUser(ctx, id)
	if err == nil || codepod.ErrorCode(err) != codepod.ECONFLICT {
		return err == nil, err
	}
	if !force {
		return false, codepod.Errorf(codepod.ECONFLICT, "%s; delete their sandboxes or delete the user with force (codepod user delete --force)",
			codepod.ErrorMessage(err))
	}
	now := s.now()
	at := &now
	u, err := s.st.User(ctx, id)
	if err != nil {
		return false, err
	}
	if u.DisabledAt != nil {
		at = u.DisabledAt
	}
	deleting := true
	if _, err := s.st.UpdateUser(ctx, id, codepod.UserUpdate{DisabledAt: &at, Deleting: &deleting}); err != nil {
		return false, err
	}
	return s.finishDeletingUser(ctx, id)
}

// finishDeletingUser deletes what sandboxes user id still has and then the
// user, if nothing is left.
func (s *Service) finishDeletingUser(ctx context.Context, id string) (bool, error) {
	if err := s.deleteSandboxesOf(ctx, id); err != nil {
		return false, err
	}
	err := s.st.DeleteUser(ctx, id)
	switch codepod.ErrorCode(err) {
	case "":
		s.log.Info("user deleted", "user_id", id)
		return true, nil
	case codepod.ECONFLICT:
		return false, nil // containers are still being removed
	}
	return false, err
}

// deleteSandboxesOf moves every sandbox of ownerID towards deleted.
func (s *Service) deleteSandboxesOf(ctx context.Context, ownerID string) error {
	system := &codepod.User{ID: ownerID, Admin: true}
	f := codepod.SandboxFilter{OwnerID: ownerID, Page: codepod.Page{Limit: 500}}
	for {
		list, next, err := s.st.ListSandboxes(ctx, f)
		if err != nil {
			return fmt.Errorf("list sandboxes of %s: %w", ownerID, err)
		}
		for _, sb := range list {
			if sb.Status == codepod.SandboxDeleting {
				continue
			}
			if _, err := s.DeleteSandbox(ctx, system, sb.ID); err != nil && codepod.ErrorCode(err) != codepod.ENOTFOUND {
				return err
			}
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}
