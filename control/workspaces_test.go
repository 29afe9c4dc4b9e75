package control_test

import (
	"strings"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// TestRunnerWorkspaces: a runner dedicated to a workspace hosts only that
// workspace's sandboxes; others wait with a reason naming their workspace
// and are placed once a runner serves them.
func TestRunnerWorkspaces(t *testing.T) {
	forEachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, testConfig())
		team := &codepod.Workspace{Name: "team", OwnerID: e.alice.ID}
		if err := e.st.CreateWorkspace(e.ctx, team); err != nil {
			t.Fatal(err)
		}
		r := e.runner("dedicated", nil, wire.Capacity{})
		if err := e.svc.SetRunnerWorkspaces(e.ctx, r.ID, []string{team.ID}); err != nil {
			t.Fatal(err)
		}
		inTeam := *e.alice
		inTeam.Workspace, inTeam.Role = team.ID, codepod.RoleOwner
		placed := e.create(&inTeam, "teams", codepod.SandboxSpec{})
		if placed.RunnerID != r.ID || placed.WorkspaceID != team.ID {
			t.Fatalf("team's sandbox on %q in %q; want %s in %s", placed.RunnerID, placed.WorkspaceID, r.ID, team.ID)
		}
		personal := e.create(e.alice, "mine", codepod.SandboxSpec{})
		if personal.RunnerID != "" || !strings.Contains(personal.Reason, "serves workspace "+codepod.PersonalWorkspaceID(e.alice.ID)) {
			t.Fatalf("personal sandbox on %q (%q); want pending, no runner serves its workspace", personal.RunnerID, personal.Reason)
		}
		e.ok(r, e.pollOne(r, wire.KindCreate, placed.ID))
		if jobs := e.pollNow(r); len(jobs) != 0 {
			t.Fatalf("the dedicated runner got %s", describe(jobs))
		}
		// Shared again: the next poll places the waiting sandbox.
		if err := e.svc.SetRunnerWorkspaces(e.ctx, r.ID, nil); err != nil {
			t.Fatal(err)
		}
		e.pollOne(r, wire.KindCreate, personal.ID)
	})
}
