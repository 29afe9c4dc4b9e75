package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/migrations"
	"github.com/codepod-dev/codepod/store"
)

// workspacesMigration is the migration that brought workspaces.
const workspacesMigration = "20261202000100"

// migrateBefore applies, through bun/migrate as the store does, every
// migration older than version: the schema of the release before it.
func migrateBefore(t *testing.T, b backend, raw *sql.DB, version string) {
	t.Helper()
	ctx := context.Background()
	sub, err := migrations.FS(b.name)
	must(t, err)
	old := fstest.MapFS{}
	must(t, fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p >= version {
			return err
		}
		data, err := fs.ReadFile(sub, p)
		old[p] = &fstest.MapFile{Data: data}
		return err
	}))
	var db *bun.DB
	if b.name == "sqlite" {
		db = bun.NewDB(raw, sqlitedialect.New())
	} else {
		db = bun.NewDB(raw, pgdialect.New())
	}
	ms := migrate.NewMigrations()
	must(t, ms.Discover(old))
	m := migrate.NewMigrator(db, ms, migrate.WithTableName("bun_migrations"), migrate.WithMarkAppliedOnSuccess(true))
	must(t, m.Init(ctx))
	_, err = m.Migrate(ctx)
	must(t, err)
}

// exec runs q with ? placeholders on either dialect.
func exec(t *testing.T, b backend, raw *sql.DB, q string, args ...any) {
	t.Helper()
	if b.name == "postgres" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	if _, err := raw.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// testWorkspaceMigration fills a database of the schema before workspaces
// (users, keys, sandboxes, a webhook endpoint), opens it with the store
// (which applies the workspaces migration) and checks that every row is
// kept and placed in its owner's personal workspace.
func testWorkspaceMigration(t *testing.T, b backend) {
	ctx := context.Background()
	url := b.url(t)
	raw := b.raw(t, url)
	migrateBefore(t, b, raw, workspacesMigration)

	const at = "2026-11-01 10:00:00+00:00"
	exec(t, b, raw, "INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
		"usr_ada", "ada@example.com", "Ada", at, "usr_bob", "bob@example.com", "Bob", at)
	for _, k := range [][2]string{{"key_ci", "ci"}, {"key_login", "login"}, {"key_bob", "laptop"}} {
		user := "usr_ada"
		if k[0] == "key_bob" {
			user = "usr_bob"
		}
		exec(t, b, raw, "INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			k[0], user, k[1], "cpk_"+k[0], []byte{1, 2, 3}, at)
	}
	for _, s := range [][4]string{
		{"sb_a1", "web", "usr_ada", "running"}, {"sb_a2", "db", "usr_ada", "stopped"},
		{"sb_a3", "web", "usr_ada", "deleted"}, {"sb_b1", "web", "usr_bob", "pending"},
	} {
		exec(t, b, raw, "INSERT INTO sandboxes (id, name, owner_id, spec, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			s[0], s[1], s[2], `{"image":"codepod/tiny:latest"}`, s[3], at, at)
	}
	exec(t, b, raw, "INSERT INTO webhook_endpoints (id, owner_id, url, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		"wh_bob", "usr_bob", "https://hooks.example.com/x", "whsec_x", at, at)

	db := openURL(t, url, nil)
	if got := db.Migrated(); len(got) == 0 || !strings.HasPrefix(got[0], workspacesMigration) {
		t.Fatalf("Open applied %v, want the workspaces migration first", got)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
	for _, u := range []string{"usr_ada", "usr_bob"} {
		ws, err := db.ListWorkspaces(ctx, u)
		must(t, err)
		if len(ws) != 1 || ws[0].ID != codepod.PersonalWorkspaceID(u) || !ws[0].Personal || ws[0].Role != codepod.RoleOwner || ws[0].OwnerID != u {
			t.Errorf("workspaces of %s = %+v, want only their personal one, as owner", u, ws)
		}
	}
	if w, err := db.Workspace(ctx, "ada@example.com"); err != nil || w.ID != codepod.PersonalWorkspaceID("usr_ada") {
		t.Errorf("Workspace(by name) = %+v, %v", w, err)
	}
	all, _, err := db.ListSandboxes(ctx, codepod.SandboxFilter{IncludeDeleted: true})
	must(t, err)
	if len(all) != 4 {
		t.Errorf("%d sandboxes after the migration, want 4", len(all))
	}
	for _, s := range all {
		if s.WorkspaceID != codepod.PersonalWorkspaceID(s.OwnerID) {
			t.Errorf("sandbox %s of %s is in workspace %q", s.ID, s.OwnerID, s.WorkspaceID)
		}
	}
	if s, err := db.SandboxByName(ctx, codepod.PersonalWorkspaceID("usr_bob"), "web"); err != nil || s.ID != "sb_b1" {
		t.Errorf("bob's web = %+v, %v", s, err)
	}
	if u, err := db.QuotaUsage(ctx, codepod.PersonalWorkspaceID("usr_ada")); err != nil || u.Sandboxes != 2 {
		t.Errorf("ada's usage = %+v, %v; want 2 sandboxes", u, err)
	}
	keys, _, err := db.ListAPIKeys(ctx, "", codepod.Page{})
	must(t, err)
	if len(keys) != 3 {
		t.Errorf("%d keys after the migration, want 3", len(keys))
	}
	for _, k := range keys {
		want := codepod.PersonalWorkspaceID(k.UserID)
		if k.Name == "login" {
			want = "" // a sign-in key follows the request's workspace
		}
		if k.WorkspaceID != want || k.ReadOnly {
			t.Errorf("key %s (%s): workspace %q read-only %v, want %q", k.ID, k.Name, k.WorkspaceID, k.ReadOnly, want)
		}
	}
	eps, err := db.ListWebhooks(ctx, codepod.PersonalWorkspaceID("usr_bob"))
	must(t, err)
	if len(eps) != 1 || eps[0].ID != "wh_bob" {
		t.Errorf("bob's workspace endpoints = %+v", eps)
	}
}

// testWorkspaces covers workspaces and members.
func testWorkspaces(t *testing.T, b backend) {
	ctx := context.Background()
	db := openURL(t, b.url(t), nil)
	ada := &codepod.User{Email: "ada@example.com"}
	bob := &codepod.User{Email: "bob@example.com"}
	must(t, db.CreateUser(ctx, ada))
	must(t, db.CreateUser(ctx, bob))
	if m, err := db.WorkspaceMember(ctx, codepod.PersonalWorkspaceID(ada.ID), ada.ID); err != nil || m.Role != codepod.RoleOwner {
		t.Fatalf("a new user's personal membership = %+v, %v", m, err)
	}
	team := &codepod.Workspace{Name: "team", OwnerID: ada.ID}
	must(t, db.CreateWorkspace(ctx, team))
	if err := db.CreateWorkspace(ctx, &codepod.Workspace{Name: "team", OwnerID: bob.ID}); codepod.ErrorCode(err) != codepod.ECONFLICT {
		t.Errorf("a second workspace named team: %v, want ECONFLICT", err)
	}
	must(t, db.SetWorkspaceMember(ctx, &codepod.WorkspaceMember{WorkspaceID: team.ID, UserID: bob.ID, Role: codepod.RoleViewer}))
	must(t, db.SetWorkspaceMember(ctx, &codepod.WorkspaceMember{WorkspaceID: team.ID, UserID: bob.ID, Role: codepod.RoleMember}))
	ms, err := db.ListWorkspaceMembers(ctx, team.ID)
	must(t, err)
	if len(ms) != 2 || ms[0].UserID != ada.ID || ms[0].Role != codepod.RoleOwner || ms[1].Role != codepod.RoleMember || ms[1].Email != "bob@example.com" {
		t.Errorf("members = %+v", ms)
	}
	ws, err := db.ListWorkspaces(ctx, bob.ID)
	must(t, err)
	if len(ws) != 2 || ws[1].ID != team.ID || ws[1].Role != codepod.RoleMember {
		t.Errorf("bob's workspaces = %+v", ws)
	}

	// Names are unique per workspace.
	spec := codepod.SandboxSpec{Image: "codepod/tiny:latest"}
	mine := &codepod.Sandbox{Name: "web", OwnerID: ada.ID, Spec: spec}
	must(t, db.CreateSandbox(ctx, mine))
	if mine.WorkspaceID != codepod.PersonalWorkspaceID(ada.ID) {
		t.Errorf("a sandbox with no workspace went to %q", mine.WorkspaceID)
	}
	shared := &codepod.Sandbox{Name: "web", OwnerID: bob.ID, WorkspaceID: team.ID, Spec: spec}
	must(t, db.CreateSandbox(ctx, shared))
	err = db.CreateSandbox(ctx, &codepod.Sandbox{Name: "web", OwnerID: ada.ID, WorkspaceID: team.ID, Spec: spec})
	if codepod.ErrorCode(err) != codepod.ECONFLICT {
		t.Errorf("a second web in team: %v, want ECONFLICT", err)
	}
	if s, err := db.SandboxByName(ctx, team.ID, "web"); err != nil || s.ID != shared.ID {
		t.Errorf("team's web = %+v, %v", s, err)
	}
	list, _, err := db.ListSandboxes(ctx, codepod.SandboxFilter{WorkspaceID: team.ID})
	must(t, err)
	if len(list) != 1 || list[0].ID != shared.ID {
		t.Errorf("team lists %+v", list)
	}
	if u, err := db.QuotaUsage(ctx, team.ID); err != nil || u.Sandboxes != 1 {
		t.Errorf("team usage = %+v, %v", u, err)
	}

	if err := db.DeleteWorkspace(ctx, team.ID); codepod.ErrorCode(err) != codepod.ECONFLICT {
		t.Errorf("deleting a workspace with a live sandbox: %v, want ECONFLICT", err)
	}
	del := codepod.SandboxDeleted
	_, err = db.UpdateSandbox(ctx, shared.ID, shared.Version, codepod.SandboxUpdate{Status: &del})
	must(t, err)
	must(t, db.RemoveWorkspaceMember(ctx, team.ID, bob.ID))
	if err := db.RemoveWorkspaceMember(ctx, team.ID, bob.ID); codepod.ErrorCode(err) != codepod.ENOTFOUND {
		t.Errorf("removing a member twice: %v, want ENOTFOUND", err)
	}
	must(t, db.DeleteWorkspace(ctx, team.ID))
	if _, err := db.Workspace(ctx, "team"); codepod.ErrorCode(err) != codepod.ENOTFOUND {
		t.Errorf("deleted workspace: %v", err)
	}
	if _, err := db.Sandbox(ctx, shared.ID); codepod.ErrorCode(err) != codepod.ENOTFOUND {
		t.Errorf("the deleted workspace's deleted sandbox is still there: %v", err)
	}
	_ = store.PrefixWorkspace
}
