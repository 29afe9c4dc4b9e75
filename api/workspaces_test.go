package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// doIn sends a request like e.do, acting in workspace ws (the header).
func (e *env) doIn(ws, method, path, key string, body any) *resp {
	e.tb.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			e.tb.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if ws != "" {
		req.Header.Set("Codepod-Workspace", ws)
	}
	return e.send(req)
}

// sandboxRoutes lists every operation on one sandbox the server serves,
// from its own OpenAPI document, so a new route cannot be forgotten.
func sandboxRoutes(t *testing.T, e *env) [][2]string {
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	e.do("GET", "/openapi.json", "", nil).want(t, http.StatusOK).decode(t, &spec)
	var out [][2]string
	for p, ops := range spec.Paths {
		if !strings.HasPrefix(p, "/api/v1/sandboxes/{id}") {
			continue
		}
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete", "head":
				out = append(out, [2]string{strings.ToUpper(m), p})
			}
		}
	}
	// The preview proxy is a plain route, not an operation.
	out = append(out, [2]string{"GET", "/api/v1/sandboxes/{id}/ports/{port}/index.html"})
	sort.Slice(out, func(i, j int) bool { return out[i][1]+out[i][0] < out[j][1]+out[j][0] })
	if len(out) < 30 {
		t.Fatalf("only %d sandbox routes in the spec: %v", len(out), out)
	}
	return out
}

func fill(path, id string) string {
	r := strings.NewReplacer("{id}", id, "{pid}", "1", "{port}", "8080", "{context_id}", "ctx1", "{digest}", "sha256:"+strings.Repeat("0", 64))
	return r.Replace(path)
}

// TestWorkspaceIsolation: a member of workspace A gets, on every sandbox
// route, for a sandbox of workspace B, exactly what a sandbox that does
// not exist gets (404 wherever the request is otherwise valid); viewers,
// read-only keys and keys of another workspace are refused.
func TestWorkspaceIsolation(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnvOn(t, kind, nil)
			ada := e.newUser("ada@example.com", false)
			bob := e.newUser("bob@example.com", false)
			cy := e.newUser("cy@example.com", false)

			team := e.do("POST", "/api/v1/workspaces", ada, map[string]any{"name": "team-a"}).want(t, http.StatusCreated)
			teamID := team.str("id")
			if team.str("role") != "owner" {
				t.Errorf("creator's role %q", team.str("role"))
			}
			e.do("POST", "/api/v1/workspaces/team-a/members", ada, map[string]any{"user": "cy@example.com", "role": "viewer"}).want(t, http.StatusCreated)
			wantProblem(t, e.do("POST", "/api/v1/workspaces/team-a/members", cy, map[string]any{"user": "bob@example.com", "role": "member"}), http.StatusForbidden)
			wantProblem(t, e.do("GET", "/api/v1/workspaces/team-a", bob, nil), http.StatusNotFound)

			web := e.doIn("team-a", "POST", "/api/v1/sandboxes", ada, map[string]any{"name": "web"}).want(t, http.StatusCreated).str("id")
			e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "web"}).want(t, http.StatusCreated) // names are per workspace
			box := e.do("POST", "/api/v1/sandboxes", bob, map[string]any{"name": "box"}).want(t, http.StatusCreated).str("id")

			// Every sandbox route: ada (personal, and in team-a) sees bob's
			// sandbox exactly as one that does not exist.
			routes := sandboxRoutes(t, e)
			n404 := 0
			for _, ws := range []string{"", "team-a"} {
				for _, rt := range routes {
					for _, ref := range []string{box, "box"} {
						got := e.doIn(ws, rt[0], fill(rt[1], ref), ada, map[string]any{})
						none := e.doIn(ws, rt[0], fill(rt[1], "sb_doesnotexist0000000000"), ada, map[string]any{})
						// Admin-only routes (agent upgrade) are a 403 for
						// any sandbox, missing or not: that tells nothing.
						if got.Status != none.Status || got.Status == http.StatusOK {
							t.Errorf("%s %s as a member of %q: %d %s; a missing sandbox: %d", rt[0], fill(rt[1], ref), ws, got.Status, got.Body, none.Status)
						}
						if got.Status == http.StatusNotFound {
							n404++
						}
					}
				}
			}
			t.Logf("%d sandbox routes, %d answers were 404, all the same as a missing sandbox", len(routes), n404)
			if n404 < len(routes) {
				t.Errorf("only %d of %d answers were 404", n404, 4*len(routes))
			}
			// bob, a member of no shared workspace, cannot see team-a's sandbox.
			wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+web, bob, nil), http.StatusNotFound)
			r := e.doIn("team-a", "GET", "/api/v1/sandboxes", bob, nil)
			wantProblem(t, r, http.StatusNotFound)
			if !strings.Contains(r.str("detail"), `workspace "team-a" not found`) {
				t.Errorf("a workspace bob is not in: %s", r.Body)
			}
			// Lists are per workspace.
			if items := e.doIn("team-a", "GET", "/api/v1/sandboxes", ada, nil).JSON["items"].([]any); len(items) != 1 {
				t.Errorf("team-a lists %d sandboxes, want 1", len(items))
			}
			if items := e.doIn(teamID, "GET", "/api/v1/sandboxes", cy, nil).JSON["items"].([]any); len(items) != 1 {
				t.Errorf("the viewer lists %d sandboxes of team-a, want 1", len(items))
			}

			// A viewer reads but does not change or open sessions.
			e.doIn("team-a", "GET", "/api/v1/sandboxes/web", cy, nil).want(t, http.StatusOK)
			for _, rt := range [][2]string{
				{"POST", "/api/v1/sandboxes"}, {"POST", "/api/v1/sandboxes/web/exec"}, {"DELETE", "/api/v1/sandboxes/web"},
				{"POST", "/api/v1/sandboxes/web/stop"}, {"POST", "/api/v1/sandboxes/web/start"}, {"PUT", "/api/v1/sandboxes/web/files?path=/tmp/x"},
				{"GET", "/api/v1/sandboxes/web/pty"}, {"GET", "/api/v1/sandboxes/web/tunnel"}, {"GET", "/api/v1/sandboxes/web/exec/stream"},
				{"POST", "/api/v1/sandboxes/web/ssh-tokens"}, {"POST", "/api/v1/sandboxes/web/processes"},
			} {
				r := e.doIn("team-a", rt[0], rt[1], cy, map[string]any{"name": "x", "command": []string{"true"}})
				wantProblem(t, r, http.StatusForbidden)
				if !strings.Contains(r.str("detail"), "role viewer") {
					t.Errorf("%s %s as viewer: %s", rt[0], rt[1], r.Body)
				}
			}

			// A key made in team-a acts only there.
			key := e.doIn("team-a", "POST", "/api/v1/api-keys", ada, map[string]any{"name": "ci"}).want(t, http.StatusCreated)
			if key.str("workspace_id") != teamID {
				t.Errorf("key made in team-a: %s", key.Body)
			}
			k := key.str("key")
			if items := e.do("GET", "/api/v1/sandboxes", k, nil).JSON["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != web {
				t.Errorf("team-a's key lists %v", items)
			}
			wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+box, k, nil), http.StatusNotFound)
			r = e.doIn("ada@example.com", "GET", "/api/v1/sandboxes", k, nil)
			wantProblem(t, r, http.StatusForbidden)
			if !strings.Contains(r.str("detail"), "belongs to workspace "+teamID) {
				t.Errorf("a team key naming another workspace: %s", r.Body)
			}
			if items := e.do("GET", "/api/v1/workspaces", k, nil).JSON["items"].([]any); len(items) != 1 {
				t.Errorf("team-a's key lists %d workspaces, want 1", len(items))
			}

			// A read-only key reads and is refused every change.
			ro := e.doIn("team-a", "POST", "/api/v1/api-keys", ada, map[string]any{"name": "dash", "read_only": true}).want(t, http.StatusCreated).str("key")
			e.do("GET", "/api/v1/sandboxes/web", ro, nil).want(t, http.StatusOK)
			for _, rt := range [][2]string{{"POST", "/api/v1/sandboxes"}, {"DELETE", "/api/v1/sandboxes/web"}, {"POST", "/api/v1/sandboxes/web/exec"}, {"POST", "/api/v1/workspaces"}} {
				r := e.do(rt[0], rt[1], ro, map[string]any{"name": "x", "command": []string{"true"}})
				wantProblem(t, r, http.StatusForbidden)
				if !strings.Contains(r.str("detail"), "read-only") {
					t.Errorf("%s %s with a read-only key: %s", rt[0], rt[1], r.Body)
				}
			}

			// Members: a member does sandbox work; roles change; the last owner stays.
			e.do("POST", "/api/v1/workspaces/team-a/members", ada, map[string]any{"user": "bob@example.com", "role": "member"}).want(t, http.StatusCreated)
			e.doIn("team-a", "GET", "/api/v1/sandboxes/web", bob, nil).want(t, http.StatusOK)
			bobs := e.doIn("team-a", "POST", "/api/v1/sandboxes", bob, map[string]any{"name": "bobs"}).want(t, http.StatusCreated).str("id")
			e.doIn("team-a", "DELETE", "/api/v1/sandboxes/"+bobs, ada, nil).want(t, http.StatusOK) // pending on no runner: gone at once
			e.do("PATCH", "/api/v1/workspaces/team-a/members/bob@example.com", ada, map[string]any{"role": "viewer"}).want(t, http.StatusOK)
			wantProblem(t, e.doIn("team-a", "POST", "/api/v1/sandboxes/web/start", bob, nil), http.StatusForbidden)
			wantProblem(t, e.do("DELETE", "/api/v1/workspaces/team-a/members/ada@example.com", ada, nil), http.StatusConflict)
			e.do("DELETE", "/api/v1/workspaces/team-a/members/bob@example.com", ada, nil).want(t, http.StatusNoContent)
			wantProblem(t, e.doIn("team-a", "GET", "/api/v1/sandboxes/web", bob, nil), http.StatusNotFound)
			wantProblem(t, e.do("DELETE", "/api/v1/workspaces/team-a", cy, nil), http.StatusForbidden)
			wantProblem(t, e.do("DELETE", "/api/v1/workspaces/team-a", ada, nil), http.StatusConflict) // web is still there

			// Server admins see every workspace's sandboxes.
			e.do("GET", "/api/v1/sandboxes/"+web, e.adminKey, nil).want(t, http.StatusOK)
			e.doIn("team-a", "GET", "/api/v1/sandboxes/web", e.adminKey, nil).want(t, http.StatusOK)
		})
	}
}

// TestWorkspaceQuota: sandbox quotas count per workspace, against the
// server's quota with the overrides of the workspace's owner.
func TestWorkspaceQuota(t *testing.T) {
	e := newEnv(t)
	ada := e.newUser("ada@example.com", false)
	bob := e.newUser("bob@example.com", false)
	adaID := e.do("GET", "/api/v1/me", ada, nil).want(t, http.StatusOK).str("id")
	e.do("PATCH", "/api/v1/users/"+adaID, e.adminKey, map[string]any{"quota": map[string]any{"sandboxes": 1}}).want(t, http.StatusOK)
	e.do("POST", "/api/v1/workspaces", ada, map[string]any{"name": "team-a"}).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/workspaces/team-a/members", ada, map[string]any{"user": "bob@example.com", "role": "member"}).want(t, http.StatusCreated)

	e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "one"}).want(t, http.StatusCreated)
	wantProblem(t, e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "two"}), http.StatusForbidden)
	// team-a counts on its own, with its owner's (ada's) limit of 1.
	e.doIn("team-a", "POST", "/api/v1/sandboxes", bob, map[string]any{"name": "one"}).want(t, http.StatusCreated)
	r := e.doIn("team-a", "POST", "/api/v1/sandboxes", ada, map[string]any{"name": "two"})
	wantProblem(t, r, http.StatusForbidden)
	if !strings.Contains(r.str("detail"), "1 of 1 sandboxes") {
		t.Errorf("team-a over quota: %s", r.Body)
	}
	// bob's personal workspace has the server's default.
	e.do("POST", "/api/v1/sandboxes", bob, map[string]any{"name": "two"}).want(t, http.StatusCreated)
}

// TestWorkspaceQueryParam: browsers cannot set headers on a WebSocket, so
// GET routes also take the workspace from ?workspace=, resolved like the
// header: a member gets through to a sandbox of the shared workspace, a
// non-member gets the header's 404, and the header wins when both are set.
func TestWorkspaceQueryParam(t *testing.T) {
	e := newEnvOn(t, "sqlite", nil)
	ada := e.newUser("ada@example.com", false)
	bob := e.newUser("bob@example.com", false)
	eve := e.newUser("eve@example.com", false)
	e.do("POST", "/api/v1/workspaces", ada, map[string]any{"name": "team-q"}).want(t, http.StatusCreated)
	e.do("POST", "/api/v1/workspaces/team-q/members", ada, map[string]any{"user": "bob@example.com", "role": "member"}).want(t, http.StatusCreated)
	e.doIn("team-q", "POST", "/api/v1/sandboxes", ada, map[string]any{"name": "web"}).want(t, http.StatusCreated)

	// The WebSocket routes the UI opens, and the event feed.
	for _, p := range []string{"/api/v1/sandboxes/web/pty", "/api/v1/sandboxes/web/processes/1/stream", "/api/v1/sandboxes/web"} {
		byHeader := e.doIn("team-q", "GET", p, bob, nil)
		byQuery := e.do("GET", p+"?workspace=team-q", bob, nil)
		if byQuery.Status == http.StatusNotFound || byQuery.Status != byHeader.Status {
			t.Errorf("GET %s?workspace=team-q as a member: %d %s; with the header: %d", p, byQuery.Status, byQuery.Body, byHeader.Status)
		}
		// Without it bob acts in his personal workspace: no such sandbox.
		wantProblem(t, e.do("GET", p, bob, nil), http.StatusNotFound)
		r := e.do("GET", p+"?workspace=team-q", eve, nil)
		wantProblem(t, r, http.StatusNotFound)
		if !strings.Contains(r.str("detail"), `workspace "team-q" not found`) {
			t.Errorf("GET %s?workspace=team-q as a non-member: %s", p, r.Body)
		}
		// The header wins over the query.
		wantProblem(t, e.doIn("personal-nonexistent", "GET", p+"?workspace=team-q", bob, nil), http.StatusNotFound)
	}
	if got := e.do("GET", "/api/v1/sandboxes?workspace=team-q", bob, nil).want(t, http.StatusOK).JSON["items"].([]any); len(got) != 1 {
		t.Errorf("list with ?workspace=team-q: %d sandboxes, want 1", len(got))
	}
	// Only GETs read the query: a POST acts where the header says.
	wantProblem(t, e.do("POST", "/api/v1/sandboxes/web/stop?workspace=team-q", bob, nil), http.StatusNotFound)
}
