package sdk_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/codepod-dev/codepod/internal/testenv"
	"github.com/codepod-dev/codepod/sdk/internal/sdktest"
)

// TestMCPTypeScript drives /mcp with the official MCP TypeScript SDK
// (sdk/mcp-test): list tools, create a sandbox, exec, write and read files,
// delete it.
func TestMCPTypeScript(t *testing.T) {
	t.Parallel()
	dir := sdkDir("mcp-test")
	npm := npmCI(t, dir)
	out := run(t, dir, serverEnv(t), npm, "test")
	t.Logf("npm test (mcp-test):\n%s", out)
}

// TestMCPAuth checks with the official Go SDK's client that /mcp is
// authenticated as REST is: no key or a bad key gets a 401 problem, and a
// user's tools never see another user's sandbox.
func TestMCPAuth(t *testing.T) {
	t.Parallel()
	url, adminKey := sdktest.Shared(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	for name, key := range map[string]string{"no key": "", "bad key": "cpk_key_nope"} {
		t.Run(name, func(t *testing.T) {
			_, err := mcpConnect(ctx, url, key)
			if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
				t.Fatalf("connect with %s: %v, want an Unauthorized error", name, err)
			}
			resp := mcpPost(t, url, key)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || json.Unmarshal(body, &p) != nil || p.Status != 401 || p.Detail == "" {
				t.Fatalf("POST /mcp with %s: %s %v\n%s", name, resp.Status, resp.Header, body)
			}
		})
	}

	t.Run("a request over the size limit is 413", func(t *testing.T) {
		big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 9<<20) + `"}}`
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/mcp", strings.NewReader(big))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := (&http.Client{Transport: bearerTransport{adminKey}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 9 MiB MCP request: %s, want 413", resp.Status)
		}
	})

	t.Run("another user's sandbox is invisible", func(t *testing.T) {
		admin, err := mcpConnect(ctx, url, adminKey)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		sb := mcpCall(t, ctx, admin, "create_sandbox", map[string]any{"image": "codepod/tiny:latest", "memory": "64m"})
		id := sb["id"].(string)
		defer mcpCall(t, context.WithoutCancel(ctx), admin, "delete_sandbox", map[string]any{"sandbox": id})

		other, err := mcpConnect(ctx, url, newUserKey(t, ctx, url, adminKey))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		list := mcpCall(t, ctx, other, "list_sandboxes", map[string]any{})
		if items, _ := list["items"].([]any); len(items) != 0 {
			t.Errorf("another user lists %v", items)
		}
		for tool, args := range map[string]map[string]any{
			"exec":           {"sandbox": id, "command": "id"},
			"read_file":      {"sandbox": id, "path": "/etc/hostname"},
			"write_file":     {"sandbox": id, "path": "x", "content": "x"},
			"list_files":     {"sandbox": id},
			"delete_sandbox": {"sandbox": id},
		} {
			r, err := other.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
			if err != nil {
				t.Fatal(err)
			}
			if text := mcpText(r); !r.IsError || !strings.Contains(text, "404") {
				t.Errorf("%s on another user's sandbox: isError=%v %s, want a 404 tool error", tool, r.IsError, text)
			}
		}
		if r := mcpCall(t, ctx, admin, "exec", map[string]any{"sandbox": id, "command": "echo still here"}); r["stdout"] != "still here\n" {
			t.Errorf("the owner's exec after the other user's attempts: %v", r)
		}
	})
}

// bearerTransport adds an API key to every request.
type bearerTransport struct{ key string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.key != "" {
		r.Header.Set("Authorization", "Bearer "+b.key)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func mcpConnect(ctx context.Context, url, key string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "codepod-sdk-test", Version: "0"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}},
		MaxRetries: -1, DisableStandaloneSSE: true}, nil)
}

// mcpPost posts an initialize request by hand, to see the HTTP answer.
func mcpPost(t *testing.T, url, key string) *http.Response {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	req, _ := http.NewRequestWithContext(t.Context(), "POST", url+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := (&http.Client{Transport: bearerTransport{key}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// mcpCall calls a tool that must succeed and returns its structured result.
func mcpCall(t *testing.T, ctx context.Context, s *mcp.ClientSession, tool string, args map[string]any) map[string]any {
	t.Helper()
	r, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if r.IsError {
		t.Fatalf("%s: %s", tool, mcpText(r))
	}
	out, _ := r.StructuredContent.(map[string]any)
	return out
}

func mcpText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// newUserKey creates a user with a password and logs in as it.
func newUserKey(t *testing.T, ctx context.Context, url, adminKey string) string {
	t.Helper()
	email := "mcp-" + rand.Text()[:10] + "@example.com"
	password := rand.Text()
	adminCall(t, ctx, url, adminKey, "POST", "/api/v1/users", map[string]any{"email": strings.ToLower(email), "password": password}, nil)
	var login struct {
		Token string `json:"token"`
	}
	adminCall(t, ctx, url, "", "POST", "/api/v1/auth/login", map[string]any{"email": strings.ToLower(email), "password": password}, &login)
	return login.Token
}

func adminCall(t *testing.T, ctx context.Context, url, key, method, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, method, url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: bearerTransport{key}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatal(err)
		}
	}
}

// npmCI makes sure dir's node_modules match its package-lock.json (npm ci
// when they are missing or the lock changed) and returns npm's path.
func npmCI(t *testing.T, dir string) string {
	t.Helper()
	testenv.Command(t, "node")
	npm := testenv.Command(t, "npm")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	stamp := filepath.Join(dir, "node_modules", ".codepod-lock-sha256")
	if b, err := os.ReadFile(stamp); err == nil && string(b) == hex.EncodeToString(sum[:]) {
		return npm
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatal(fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out))
	}
	os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644)
	return npm
}
