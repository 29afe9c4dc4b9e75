package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/runner/images"
)

// codeRun is the answer of POST /sandboxes/{id}/code/run.
type codeRun struct {
	Context        string              `json:"context"`
	ExecutionCount int                 `json:"execution_count"`
	Stdout         string              `json:"stdout"`
	Stderr         string              `json:"stderr"`
	Results        []map[string]string `json:"results"`
	Error          *struct {
		Name      string   `json:"name"`
		Value     string   `json:"value"`
		Traceback []string `json:"traceback"`
	} `json:"error"`
	ExitCode    *int `json:"exit_code"`
	Interrupted bool `json:"interrupted"`
	Restarted   bool `json:"restarted"`
}

type codeContext struct {
	ID       string `json:"id"`
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// baseSandbox makes a codepod/base sandbox (skipping without
// CODEPOD_TEST_BASE_IMAGE=1, which CI sets).
func baseSandbox(t testing.TB, c *cluster, name string) *sandbox {
	t.Helper()
	if os.Getenv("CODEPOD_TEST_BASE_IMAGE") == "" {
		t.Skip("set CODEPOD_TEST_BASE_IMAGE=1 to run code contexts on codepod/base (built with debootstrap if absent)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := images.EnsureBase(ctx, c.Docker, nil); err != nil {
		t.Fatalf("build the base image: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var sb sandbox
	req := map[string]any{"name": name, "image": "codepod/base:latest", "memory": "512m"}
	if err := c.call(ctx, "POST", "/api/v1/sandboxes", req, &sb, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteSandbox(t, c, sb.ID) })
	for sb.Status != "running" {
		if sb.Status == "error" || ctx.Err() != nil {
			t.Fatalf("sandbox %s is %s (%s)", name, sb.Status, sb.Reason)
		}
		time.Sleep(50 * time.Millisecond)
		if err := c.call(ctx, "GET", "/api/v1/sandboxes/"+sb.ID, nil, &sb, http.StatusOK); err != nil {
			t.Fatal(err)
		}
	}
	return &sb
}

// TestRunCode runs cells in python, javascript and bash contexts of one
// codepod/base sandbox through the REST API.
func TestRunCode(t *testing.T) {
	c := sharedCluster(t)
	sb := baseSandbox(t, c, "code-e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	path := "/api/v1/sandboxes/" + sb.ID + "/code"
	cell := func(t *testing.T, req map[string]any) codeRun {
		t.Helper()
		var r codeRun
		if err := c.call(ctx, "POST", path+"/run", req, &r, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		return r
	}
	value := func(r codeRun) string {
		if len(r.Results) == 0 {
			return "<no result>"
		}
		return r.Results[len(r.Results)-1]["text/plain"]
	}

	t.Run("python state", func(t *testing.T) {
		if r := cell(t, map[string]any{"language": "python", "code": "x = 41\nprint('set')"}); r.Stdout != "set\n" || r.Error != nil {
			t.Fatalf("x = 41: %+v", r)
		}
		if r := cell(t, map[string]any{"language": "python", "code": "x + 1"}); value(r) != "42" || r.Context != "default-python" {
			t.Fatalf("x + 1: %+v", r)
		}
	})
	t.Run("python traceback", func(t *testing.T) {
		r := cell(t, map[string]any{"language": "python", "code": "def f():\n    return 1 / 0\nf()"})
		if r.Error == nil || r.Error.Name != "ZeroDivisionError" || r.Error.Value != "division by zero" ||
			!strings.Contains(strings.Join(r.Error.Traceback, ""), "in f") {
			t.Fatalf("error: %+v", r.Error)
		}
	})
	t.Run("python html", func(t *testing.T) {
		r := cell(t, map[string]any{"language": "python", "code": "class T:\n    def _repr_html_(self):\n        return '<table></table>'\nT()"})
		if len(r.Results) != 1 || r.Results[0]["text/html"] != "<table></table>" {
			t.Fatalf("results: %+v", r.Results)
		}
	})
	t.Run("python interrupted", func(t *testing.T) {
		r := cell(t, map[string]any{"language": "python", "code": "while True:\n    pass", "timeout_seconds": 1})
		if !r.Interrupted || r.Restarted || r.Error == nil || r.Error.Name != "KeyboardInterrupt" {
			t.Fatalf("interrupt: %+v", r)
		}
		if r := cell(t, map[string]any{"language": "python", "code": "x"}); value(r) != "41" {
			t.Fatalf("after the interrupt: %+v", r)
		}
	})
	t.Run("javascript context and restart", func(t *testing.T) {
		var js codeContext
		if err := c.call(ctx, "POST", path+"/contexts", map[string]any{"language": "javascript"}, &js, http.StatusCreated); err != nil {
			t.Fatal(err)
		}
		cell(t, map[string]any{"context": js.ID, "code": "const o = {n: 41}"})
		if r := cell(t, map[string]any{"context": js.ID, "code": "o.n + 1"}); value(r) != "42" {
			t.Fatalf("o.n + 1: %+v", r)
		}
		if r := cell(t, map[string]any{"context": js.ID, "code": "o.missing.x"}); r.Error == nil || r.Error.Name != "TypeError" {
			t.Fatalf("error: %+v", r)
		}
		if err := c.call(ctx, "POST", path+"/contexts/"+js.ID+"/restart", nil, nil, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if r := cell(t, map[string]any{"context": js.ID, "code": "typeof o"}); value(r) != "'undefined'" {
			t.Fatalf("after the restart: %+v", r)
		}
		if err := c.call(ctx, "DELETE", path+"/contexts/"+js.ID, nil, nil, http.StatusNoContent); err != nil {
			t.Fatal(err)
		}
		if err := c.call(ctx, "POST", path+"/run", map[string]any{"context": js.ID, "code": "1"}, nil, http.StatusNotFound); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bash state", func(t *testing.T) {
		cell(t, map[string]any{"language": "bash", "code": "N=41; cd /tmp"})
		r := cell(t, map[string]any{"language": "bash", "code": "echo $((N+1)) $PWD; exit 3"})
		if r.Stdout != "42 /tmp\n" || r.ExitCode == nil || *r.ExitCode != 3 {
			t.Fatalf("bash: %+v", r)
		}
		var list struct{ Contexts []codeContext }
		if err := c.call(ctx, "GET", path+"/contexts", nil, &list, http.StatusOK); err != nil {
			t.Fatal(err)
		}
		if len(list.Contexts) != 2 || list.Contexts[1].ID != "default-bash" || list.Contexts[1].Cwd != "/tmp" {
			t.Fatalf("contexts: %+v", list.Contexts)
		}
	})
	t.Run("another user gets 404", func(t *testing.T) {
		key := c.otherUser(ctx, t, "code-stranger@example.com")
		for _, r := range []struct{ method, path, body string }{
			{"POST", path + "/run", `{"language":"python","code":"1"}`},
			{"GET", path + "/contexts", ""},
			{"POST", path + "/contexts", `{"language":"python"}`},
			{"POST", path + "/contexts/default-python/restart", ""},
			{"DELETE", path + "/contexts/default-python", ""},
		} {
			if status := c.as(ctx, t, key, r.method, r.path, r.body); status != http.StatusNotFound {
				t.Errorf("%s %s as another user: %d, want 404", r.method, r.path, status)
			}
		}
	})
}

// otherUser makes a user who is not the admin and returns their API key.
func (c *cluster) otherUser(ctx context.Context, t *testing.T, email string) string {
	t.Helper()
	const password = "correct horse battery"
	if err := c.call(ctx, "POST", "/api/v1/users", map[string]any{"email": email, "password": password}, nil, http.StatusCreated); err != nil &&
		!strings.Contains(err.Error(), "409") {
		t.Fatal(err)
	}
	var login struct{ Token string }
	if err := c.call(ctx, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": password}, &login, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	return login.Token
}

// as sends a request with key and returns the status.
func (c *cluster) as(ctx context.Context, t *testing.T, key, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p map[string]any
	json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode
}
