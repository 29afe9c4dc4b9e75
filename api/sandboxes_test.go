package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/codepod-dev/codepod/api"
)

func TestCreateSandboxDefaults(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)
	var sb api.Sandbox
	e.do("POST", "/api/v1/sandboxes", key, map[string]any{
		"name": "dev", "memory": "1g", "cpu": 0.5, "ttl": "1h", "env": map[string]string{"A": "1"}, "labels": map[string]string{"team": "x"},
	}).want(t, http.StatusCreated).decode(t, &sb)
	if sb.Status != "pending" || sb.Name != "dev" || sb.MemoryBytes != 1<<30 || sb.Memory != "1g" || sb.CPU != 0.5 ||
		sb.TTLSeconds != 3600 || sb.ExpiresAt == nil || sb.Image != "codepod/base:latest" || sb.Network != "none" || sb.Env["A"] != "1" ||
		sb.Disk != "10g" || sb.DiskBytes != 10<<30 {
		t.Errorf("created %+v", sb)
	}
	raw := e.do("GET", "/api/v1/sandboxes/dev", key, nil).want(t, http.StatusOK)
	if raw.str("id") != sb.ID || strings.Contains(string(raw.Body), "secret") {
		t.Errorf("get by name: %s", raw.Body)
	}
	e.do("GET", "/api/v1/sandboxes/"+sb.ID, key, nil).want(t, http.StatusOK)
	wantProblem(t, e.do("POST", "/api/v1/sandboxes", key, map[string]any{"name": "dev"}), http.StatusConflict)

	var del api.Sandbox
	e.do("DELETE", "/api/v1/sandboxes/dev", key, nil).want(t, http.StatusOK).decode(t, &del)
	if del.Status != "deleted" && del.Status != "deleting" {
		t.Errorf("deleted sandbox has status %s", del.Status)
	}
}

func TestCreateSandboxRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)
	cases := map[string]string{
		"bad image":       `{"image":"Not An Image!"}`,
		"bad memory":      `{"memory":"12zb"}`,
		"bad disk":        `{"disk":"lots"}`,
		"disk too small":  `{"disk":"1m"}`,
		"disk too large":  `{"disk":"2t"}`,
		"negative cpu":    `{"cpu":-1}`,
		"bad env name":    `{"env":{"1BAD":"x"}}`,
		"bad ttl":         `{"ttl":"banana"}`,
		"host network":    `{"network":"host"}`,
		"unknown field":   `{"nmae":"typo"}`,
		"bad name":        `{"name":"Bad_Name"}`,
		"not json":        `{"name":`,
		"wrong type":      `{"cpu":"lots"}`,
		"body over limit": `{"env":{"BIG":"` + strings.Repeat("x", 70<<10) + `"}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/sandboxes", key, body)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d, want 4xx; body %s", r.Status, r.Body)
			}
			wantProblem(t, r, r.Status)
			if name == "body over limit" && r.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", r.Status)
			}
			t.Logf("%d %s", r.Status, r.str("detail"))
		})
	}
	list := e.do("GET", "/api/v1/sandboxes", key, nil).want(t, http.StatusOK)
	if items := list.JSON["items"].([]any); len(items) != 0 {
		t.Errorf("rejected requests left sandboxes: %s", list.Body)
	}
}

func TestSandboxesAreTenantScoped(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnvOn(t, kind, nil)
			ada := e.newUser("ada@example.com", false)
			bob := e.newUser("bob@example.com", false)
			id := e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "mine"}).want(t, http.StatusCreated).str("id")

			for _, req := range []struct{ method, path string }{
				{"GET", "/api/v1/sandboxes/" + id},
				{"DELETE", "/api/v1/sandboxes/" + id},
				{"POST", "/api/v1/sandboxes/" + id + "/stop"},
				{"POST", "/api/v1/sandboxes/" + id + "/start"},
				{"POST", "/api/v1/sandboxes/" + id + "/ssh-tokens"},
				{"GET", "/api/v1/sandboxes/mine"},
			} {
				wantProblem(t, e.do(req.method, req.path, bob, nil), http.StatusNotFound)
			}
			if items := e.do("GET", "/api/v1/sandboxes", bob, nil).JSON["items"].([]any); len(items) != 0 {
				t.Errorf("bob lists %d sandboxes", len(items))
			}
			wantProblem(t, e.do("GET", "/api/v1/sandboxes?all=true", bob, nil), http.StatusForbidden)

			e.do("GET", "/api/v1/sandboxes/"+id, e.adminKey, nil).want(t, http.StatusOK)
			if items := e.do("GET", "/api/v1/sandboxes?all=true", e.adminKey, nil).JSON["items"].([]any); len(items) != 1 {
				t.Errorf("admin lists %d sandboxes with all=true, want 1", len(items))
			}
			e.do("GET", "/api/v1/sandboxes/"+id, ada, nil).want(t, http.StatusOK) // still there
		})
	}
}

func TestListSandboxesFilters(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)
	for i, team := range []string{"a", "a", "b"} {
		e.do("POST", "/api/v1/sandboxes", key, map[string]any{
			"name": fmt.Sprintf("sb%d", i), "labels": map[string]string{"team": team},
		}).want(t, http.StatusCreated)
	}
	count := func(query string) int {
		t.Helper()
		var l api.List[api.Sandbox]
		e.do("GET", "/api/v1/sandboxes?"+query, key, nil).want(t, http.StatusOK).decode(t, &l)
		return len(l.Items)
	}
	for query, want := range map[string]int{
		"":                            3,
		"label=team=a":                2,
		"label=team=b&label=team=b":   1,
		"status=pending":              3,
		"status=running,stopped":      0,
		"status=running&status=error": 0,
	} {
		if got := count(query); got != want {
			t.Errorf("?%s: %d sandboxes, want %d", query, got, want)
		}
	}
	wantProblem(t, e.do("GET", "/api/v1/sandboxes?status=sleeping", key, nil), http.StatusUnprocessableEntity)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes?label=novalue", key, nil), http.StatusUnprocessableEntity)

	var page api.List[api.Sandbox]
	e.do("GET", "/api/v1/sandboxes?limit=2", key, nil).want(t, http.StatusOK).decode(t, &page)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	e.do("GET", "/api/v1/sandboxes?limit=2&cursor="+page.NextCursor, key, nil).want(t, http.StatusOK).decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor != "" {
		t.Errorf("second page %+v", page)
	}
}

func TestSSHTokenNeedsRunningSandbox(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)
	e.do("POST", "/api/v1/sandboxes", key, map[string]any{"name": "dev"}).want(t, http.StatusCreated)
	r := e.do("POST", "/api/v1/sandboxes/dev/ssh-tokens", key, nil)
	wantProblem(t, r, http.StatusConflict)
	if !strings.Contains(r.str("detail"), "not running") {
		t.Errorf("detail %q", r.str("detail"))
	}
	wantProblem(t, e.do("POST", "/api/v1/sandboxes/dev/ssh-tokens", key, map[string]any{"ttl_seconds": 7200}), http.StatusUnprocessableEntity)
}

func TestCreateSandboxWait(t *testing.T) {
	e := newEnv(t)
	key := e.newUser("ada@example.com", false)

	// No runner: the wait ends with the sandbox still pending, and says so.
	r := e.do("POST", "/api/v1/sandboxes?wait=200ms", key, map[string]any{"name": "early"}).want(t, http.StatusCreated)
	if r.str("status") != "pending" || r.Header.Get("CodePod-Wait") != "timeout" || !strings.Contains(r.str("reason"), "runner") {
		t.Errorf("create ?wait=200ms without runners: status %s, CodePod-Wait %q, reason %q; want pending, timeout and why",
			r.str("status"), r.Header.Get("CodePod-Wait"), r.str("reason"))
	}
	// Without wait it answers at once, with no CodePod-Wait header.
	r = e.do("POST", "/api/v1/sandboxes", key, map[string]any{"name": "now"}).want(t, http.StatusCreated)
	if h, ok := r.Header["Codepod-Wait"]; ok {
		t.Errorf("create without wait sends CodePod-Wait %q", h)
	}
	for _, bad := range []string{"banana", "-5s", "NaN"} {
		r := e.do("POST", "/api/v1/sandboxes?wait="+bad, key, map[string]any{"name": "bad"})
		wantProblem(t, r, r.Status)
		if r.Status < 400 || r.Status >= 500 || !strings.Contains(r.str("detail"), "wait=60s") {
			t.Errorf("wait=%s: %d %s; want a 4xx problem that shows wait=60s", bad, r.Status, r.Body)
		}
	}
	e.do("GET", "/api/v1/sandboxes/bad", key, nil).want(t, http.StatusNotFound)
}
