package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/api"
)

// TestAuditLog: state-changing routes each write exactly one entry (with
// the change: a change that fails writes none), reads write none, and the
// log lists, filters, exports and verifies over HTTP; on SQLite and
// PostgreSQL.
func TestAuditLog(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testAuditLog(t, newEnvOn(t, kind, nil))
		})
	}
}

func auditEntries(t *testing.T, e *env, query string) []api.AuditEvent {
	t.Helper()
	var out struct {
		Items      []api.AuditEvent `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	e.do("GET", "/api/v1/audit?limit=500"+query, e.adminKey, nil).want(t, http.StatusOK).decode(t, &out)
	return out.Items
}

func testAuditLog(t *testing.T, e *env) {
	key := e.newUser("ada@example.com", false) // user.create, then auth.login
	seen := len(auditEntries(t, e, ""))
	if seen != 2 {
		t.Fatalf("%d entries after creating a user and logging in, want 2: %+v", seen, auditEntries(t, e, ""))
	}
	// one sends a request and checks it added exactly one entry with action
	// (and target id, when given), made by the caller of key.
	one := func(action, targetID string, r *resp) api.AuditEvent {
		t.Helper()
		all := auditEntries(t, e, "")
		if len(all) != seen+1 {
			t.Fatalf("%s: %d new entries, want 1 (response %d %s): %+v", action, len(all)-seen, r.Status, r.Body, all[seen:])
		}
		seen++
		got := all[len(all)-1]
		if got.Action != action || (targetID != "" && got.TargetID != targetID) || got.Outcome != "ok" ||
			got.RequestID != r.Header.Get("X-Request-Id") || got.ClientAddr == "" || got.ActorUserID == "" {
			t.Fatalf("entry %+v, want action %s on %q", got, action, targetID)
		}
		return got
	}
	none := func(what string, r *resp) {
		t.Helper()
		if n := len(auditEntries(t, e, "")); n != seen {
			t.Fatalf("%s (%d %s) wrote %d entries, want none", what, r.Status, r.Body, n-seen)
		}
	}

	r := e.do("POST", "/api/v1/api-keys", key, map[string]any{"name": "ci"}).want(t, http.StatusCreated)
	keyID := r.str("id")
	one("apikey.create", keyID, r)
	r = e.do("DELETE", "/api/v1/api-keys/"+keyID, key, nil).want(t, http.StatusNoContent)
	one("apikey.revoke", keyID, r)

	r = e.do("POST", "/api/v1/sandboxes", key, map[string]any{"name": "dev"}).want(t, http.StatusCreated)
	sbID := r.str("id")
	created := one("sandbox.create", sbID, r)
	if created.TargetType != "sandbox" {
		t.Errorf("sandbox.create target type %q", created.TargetType)
	}
	r = e.do("PATCH", "/api/v1/sandboxes/dev", key, map[string]any{"ttl": "2h"}).want(t, http.StatusOK)
	one("sandbox.update", sbID, r) // named "dev", recorded by id
	r = e.do("GET", "/api/v1/sandboxes/dev", key, nil).want(t, http.StatusOK)
	none("a read", r)

	// Failing changes write nothing: a conflicting name (the store's insert
	// fails), a quota refusal, a duplicate user, bad input.
	wantProblem(t, e.do("POST", "/api/v1/sandboxes", key, map[string]any{"name": "dev"}), http.StatusConflict)
	none("a conflicting create", r)
	me := e.do("GET", "/api/v1/me", key, nil).want(t, http.StatusOK).str("id")
	r = e.do("PATCH", "/api/v1/users/"+me, e.adminKey, map[string]any{"quota": map[string]any{"sandboxes": 1}}).want(t, http.StatusOK)
	one("user.update", me, r)
	r = e.do("POST", "/api/v1/sandboxes", key, map[string]any{"name": "two"})
	wantProblem(t, r, http.StatusForbidden)
	none("a create over quota", r)
	r = e.do("POST", "/api/v1/users", e.adminKey, map[string]any{"email": "ada@example.com", "name": "x", "password": "correct horse battery"})
	wantProblem(t, r, http.StatusConflict)
	none("a duplicate user", r)
	r = e.do("POST", "/api/v1/runner-tokens", key, nil)
	wantProblem(t, r, http.StatusForbidden)
	none("a refused admin operation", r)

	r = e.do("POST", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusCreated)
	one("runner_token.create", r.str("id"), r)
	r = e.do("DELETE", "/api/v1/sandboxes/dev", key, nil).want(t, http.StatusOK)
	one("sandbox.delete", sbID, r)

	// Filters, paging.
	if es := auditEntries(t, e, "&action=sandbox.create&since=1h"); len(es) != 1 || es[0].TargetID != sbID {
		t.Errorf("filter by action: %+v", es)
	}
	if es := auditEntries(t, e, "&target=sandbox:"+sbID); len(es) != 3 {
		t.Errorf("filter by target: %d entries, want 3 (create, update, delete): %+v", len(es), es)
	}
	if es := auditEntries(t, e, "&actor="+me); len(es) < 4 {
		t.Errorf("filter by actor: %+v", es)
	}
	page := e.do("GET", "/api/v1/audit?limit=2", e.adminKey, nil).want(t, http.StatusOK)
	next := page.str("next_cursor")
	page2 := e.do("GET", "/api/v1/audit?limit=2&cursor="+next, e.adminKey, nil).want(t, http.StatusOK)
	if items, _ := page2.JSON["items"].([]any); next == "" || len(items) != 2 || items[0].(map[string]any)["seq"] != float64(3) {
		t.Errorf("second page after cursor %q: %s", next, page2.Body)
	}
	wantProblem(t, e.do("GET", "/api/v1/audit?since=yesterday", e.adminKey, nil), http.StatusUnprocessableEntity)
	// A user owns its personal workspace and reads that workspace's
	// entries only; another workspace is refused.
	mine := e.do("GET", "/api/v1/audit", key, nil).want(t, http.StatusOK)
	items, _ := mine.JSON["items"].([]any)
	if len(items) < 4 {
		t.Errorf("a user's own audit entries: %s", mine.Body)
	}
	for _, it := range items {
		if ws := it.(map[string]any)["workspace_id"]; ws != codepod.PersonalWorkspaceID(me) {
			t.Errorf("a user sees an entry of workspace %v: %v", ws, it)
		}
	}
	wantProblem(t, e.do("GET", "/api/v1/audit?workspace="+codepod.PersonalWorkspaceID("usr_other"), key, nil), http.StatusForbidden)
	wantProblem(t, e.do("POST", "/api/v1/audit/verify", key, nil), http.StatusForbidden)

	// Export: JSON lines, every entry, chained.
	ex := e.do("GET", "/api/v1/audit/export", e.adminKey, nil).want(t, http.StatusOK)
	if ct := ex.Header.Get("Content-Type"); ct != "application/jsonl" {
		t.Errorf("export Content-Type %q", ct)
	}
	sc := bufio.NewScanner(bytes.NewReader(ex.Body))
	var lines []api.AuditEvent
	for sc.Scan() {
		var ev api.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines = append(lines, ev)
	}
	if len(lines) != seen || lines[len(lines)-1].Seq != int64(seen) || lines[1].PrevHash != lines[0].Hash {
		t.Errorf("export has %d lines, want %d chained: %s", len(lines), seen, ex.Body)
	}

	// Verify: intact (verifying writes no entry).
	v := e.do("POST", "/api/v1/audit/verify", e.adminKey, nil).want(t, http.StatusOK)
	if v.JSON["ok"] != true || v.JSON["checked"] != float64(seen) {
		t.Errorf("verify: %s", v.Body)
	}
	none("verify", v)
	if strings.Contains(string(ex.Body), "correct horse") {
		t.Error("the audit log holds a password")
	}
}
