package main_test

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestAuditCLI: a sandbox's create, a CLI exec and the sessions opened into
// it (streaming exec, terminal, SSH tunnel) are in the audit log; `codepod
// audit list` filters it, `export` writes JSON lines that `verify --file`
// checks, and `codepod audit verify` finds a row edited and a row deleted
// in the database behind the server's back, naming the first bad entry.
func TestAuditCLI(t *testing.T) {
	c := newCluster(t)
	c.startRunner("r1", t.TempDir())
	c.must("sandbox", "create", "box", "--image", "codepod/tiny:latest", "--wait", "--timeout", "60s")
	c.must("sandbox", "exec", "box", "--", "true") // the CLI's exec is an SSH session: an SSH token and a tunnel
	c.openSessions(t, c.AdminKey, "box").stop()

	type entry struct {
		Seq        int64  `json:"seq"`
		Action     string `json:"action"`
		TargetType string `json:"target_type"`
		TargetID   string `json:"target_id"`
	}
	list := func(args ...string) []entry {
		t.Helper()
		var es []entry
		out := c.must(append([]string{"audit", "list", "-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &es); err != nil {
			t.Fatalf("audit list: %v\n%s", err, out)
		}
		return es
	}
	actions := map[string]int{}
	for _, e := range list("--since", "1h") {
		actions[e.Action]++
	}
	for action, n := range map[string]int{"sandbox.create": 1, "sandbox.ssh_token": 1, "ssh.tunnel": 2, "sandbox.exec": 1, "terminal.open": 1} {
		if actions[action] != n {
			t.Errorf("%d %s entries, want %d (all: %v)", actions[action], action, n, actions)
		}
	}
	if es := list("--action", "terminal.open"); len(es) != 1 || es[0].TargetType != "sandbox" || !strings.HasPrefix(es[0].TargetID, "sb_") {
		t.Errorf("audit list --action terminal.open: %+v", es)
	}

	export := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(export, []byte(c.must("audit", "export")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.must("audit", "verify", "--file", export); !strings.Contains(out, "chain intact") {
		t.Errorf("verify --file: %s", out)
	}
	if out := c.must("audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("verify: %s", out)
	}

	db, err := sql.Open("sqlite", filepath.Join(c.DataDir, "codepod.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	wantBroken := func(what, at string) {
		t.Helper()
		out, errOut, code := c.cli("audit", "verify")
		if code == 0 || !strings.Contains(errOut, "broken at entry "+at) {
			t.Fatalf("verify after %s: exit %d, %s %s; want a failure at entry %s", what, code, out, errOut, at)
		}
	}
	exec("UPDATE audit_events SET actor_user_id = 'usr_someone_else' WHERE seq = 2")
	wantBroken("an edit", "2")
	exec("DELETE FROM audit_events WHERE seq = 2")
	wantBroken("a deletion", "2")
	// The edited export fails offline too.
	b, _ := os.ReadFile(export)
	os.WriteFile(export, []byte(strings.Replace(string(b), `"action":"sandbox.create"`, `"action":"sandbox.get"`, 1)), 0o600)
	if _, errOut, code := c.cli("audit", "verify", "--file", export); code == 0 || !strings.Contains(errOut, "broken at entry") {
		t.Errorf("verify --file of an edited export: exit %d, %s", code, errOut)
	}
}
