package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The exec, files, tunnel and terminal endpoints end to end (with a runner
// on Docker) are tested in package e2e; here: what the server decides
// before it reaches a sandbox.

// pendingSandbox creates a sandbox that stays pending (no runner).
func (e *env) pendingSandbox(name string) string {
	e.tb.Helper()
	r := e.do("POST", "/api/v1/sandboxes", e.adminKey, map[string]any{"name": name}).want(e.tb, http.StatusCreated)
	return r.str("id")
}

func TestAgentEndpointsNeedARunningSandbox(t *testing.T) {
	e := newEnv(t)
	id := e.pendingSandbox("waiting")
	q := "?path=" + url.QueryEscape("/etc/hostname")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/exec", `{"command":["true"]}`},
		{"GET", "/files" + q, ""},
		{"PUT", "/files" + q, "data"},
		{"DELETE", "/files" + q, ""},
		{"GET", "/files/list" + q, ""},
		{"POST", "/files/mkdir", `{"path":"/x"}`},
		{"GET", "/files/archive" + q, ""},
		{"PUT", "/files/archive" + q, "tar"},
		{"GET", "/tunnel", ""},
		{"GET", "/exec/stream", ""},
		{"GET", "/pty", ""},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := e.do(c.method, "/api/v1/sandboxes/"+id+c.path, e.adminKey, body)
		wantProblem(t, r, http.StatusConflict)
		if !strings.Contains(r.str("detail"), "sandbox waiting is pending, not running") {
			t.Errorf("%s %s: detail %q", c.method, c.path, r.str("detail"))
		}
		r = e.do(c.method, "/api/v1/sandboxes/nope"+c.path, e.adminKey, body)
		wantProblem(t, r, http.StatusNotFound)
	}
}

func TestAgentEndpointsNeedAKey(t *testing.T) {
	e := newEnv(t)
	id := e.pendingSandbox("box")
	wantProblem(t, e.do("POST", "/api/v1/sandboxes/"+id+"/exec", "", `{"command":["true"]}`), http.StatusUnauthorized)
	for _, path := range []string{"/files?path=x", "/tunnel", "/pty", "/exec/stream"} {
		wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+path, "", nil), http.StatusUnauthorized)
	}
	// Browsers may send the key as ?access_token= on the terminal and the
	// streaming exec (here the request gets past authentication to the
	// sandbox check), but not elsewhere.
	tok := "access_token=" + url.QueryEscape(e.adminKey)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/pty?"+tok, "", nil), http.StatusConflict)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/exec/stream?"+tok, "", nil), http.StatusConflict)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/tunnel?"+tok, "", nil), http.StatusUnauthorized)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/files?path=x&"+tok, "", nil), http.StatusUnauthorized)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/pty?access_token=cpk_bogus", "", nil), http.StatusUnauthorized)
	// A runner's tunnel endpoint takes only a runner credential.
	wantProblem(t, e.do("GET", "/api/v1/runners/tunnels/tun_x", e.adminKey, nil), http.StatusUnauthorized)
}

func TestFileParametersAreChecked(t *testing.T) {
	e := newEnv(t)
	id := e.pendingSandbox("box")
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/files", e.adminKey, nil), http.StatusUnprocessableEntity)
	wantProblem(t, e.do("PUT", "/api/v1/sandboxes/"+id+"/files?path=x&mode=999", e.adminKey, "x"), http.StatusUnprocessableEntity)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/files?path=x&offset=-1", e.adminKey, nil), http.StatusUnprocessableEntity)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/files?path=x&offset=1099511627777", e.adminKey, nil), http.StatusUnprocessableEntity)
	wantProblem(t, e.do("GET", "/api/v1/sandboxes/"+id+"/files?path=x&offset=5", e.adminKey, nil), http.StatusConflict) // valid: on to the sandbox check
}
