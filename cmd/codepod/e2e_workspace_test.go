package main_test

import (
	"strings"
	"testing"
)

// TestWorkspaceCLI drives `codepod workspace` end to end against a real
// server (no runner: the sandboxes stay pending): create, member add with a
// role, use (stored in the config file and sent on every command), a
// viewer refused a change, and back to the personal workspace.
func TestWorkspaceCLI(t *testing.T) {
	c := newCluster(t)
	login := func(email string) cliOpts {
		if r := c.run(cliOpts{stdin: strings.NewReader("correct horse battery\n")}, "user", "create", "--email", email, "--password"); r.code != 0 {
			t.Fatalf("user create %s: %d %s", email, r.code, r.stderr)
		}
		o := cliOpts{home: t.TempDir(), noCreds: true, env: []string{"CODEPOD_SERVER_URL=" + c.URL}}
		if r := c.run(withStdin(o, "correct horse battery\n"), "login", "--email", email); r.code != 0 {
			t.Fatalf("login %s: exit %d, %s", email, r.code, r.stderr)
		}
		return o
	}
	ada, bob := login("ada@example.com"), login("bob@example.com")
	must := func(o cliOpts, args ...string) string {
		t.Helper()
		r := c.run(o, args...)
		if r.code != 0 {
			t.Fatalf("codepod %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return string(r.stdout)
	}

	id := strings.TrimSpace(must(ada, "workspace", "create", "team-web"))
	if !strings.HasPrefix(id, "ws_") {
		t.Fatalf("workspace create printed %q", id)
	}
	must(ada, "workspace", "member", "add", "bob@example.com", "--role", "viewer", "-w", "team-web")
	if out := must(ada, "workspace", "member", "list", "-w", "team-web"); !strings.Contains(out, "bob@example.com") || !strings.Contains(out, "viewer") {
		t.Errorf("member list:\n%s", out)
	}
	must(ada, "workspace", "use", "team-web")
	if out := must(ada, "workspace", "list"); !strings.Contains(out, "*") || !strings.Contains(out, "team-web") {
		t.Errorf("workspace list after use:\n%s", out)
	}
	must(ada, "sandbox", "create", "web", "--image", "codepod/tiny:latest")
	if out := must(ada, "sandbox", "list"); !strings.Contains(out, "web") {
		t.Errorf("team-web's list misses web:\n%s", out)
	}

	// bob reads team-web's sandboxes but may not change them.
	if out := must(bob, "sandbox", "list"); strings.Contains(out, "web") {
		t.Errorf("bob's personal list shows team-web's sandbox:\n%s", out)
	}
	must(bob, "workspace", "use", "team-web")
	if out := must(bob, "sandbox", "get", "web"); !strings.Contains(out, "web") {
		t.Errorf("bob cannot read web:\n%s", out)
	}
	if r := c.run(bob, "sandbox", "delete", "web"); r.code == 0 || !strings.Contains(string(r.stderr), "role viewer") {
		t.Errorf("a viewer's delete: exit %d, %s", r.code, r.stderr)
	}

	// Back in the personal workspace, web is not there.
	must(ada, "workspace", "use", "-")
	if out := must(ada, "sandbox", "list"); strings.Contains(out, "web") {
		t.Errorf("ada's personal list shows team-web's sandbox:\n%s", out)
	}
	if r := c.run(ada, "workspace", "delete", "team-web"); r.code == 0 || !strings.Contains(string(r.stderr), "still has 1 sandboxes") {
		t.Errorf("deleting a workspace with a sandbox: exit %d, %s", r.code, r.stderr)
	}
	if _, errOut, code := c.cli("runner", "workspaces", "run_nope", "team-web"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("runner workspaces of a missing runner: exit %d, %s", code, errOut)
	}
	if r := c.run(ada, "runner", "workspaces", "run_nope"); r.code == 0 || !strings.Contains(string(r.stderr), "requires an admin") {
		t.Errorf("runner workspaces by a user: exit %d, %s", r.code, r.stderr)
	}
	must(ada, "workspace", "member", "remove", "bob@example.com", "-w", "team-web")
	if r := c.run(bob, "sandbox", "list"); r.code == 0 || !strings.Contains(string(r.stderr), `workspace "team-web" not found`) {
		t.Errorf("a removed member: exit %d, %s", r.code, r.stderr)
	}
}
