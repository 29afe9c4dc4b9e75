package mcpserver

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addTool adds a tool whose handler runs as the MCP request's caller. An
// error (a REST problem's message) is the tool's error result, which the
// model reads and can act on.
func addTool[In, Out any](s *mcp.Server, t *mcp.Tool, run func(context.Context, caller, In) (Out, error)) {
	mcp.AddTool(s, t, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		out, err := run(ctx, who(req), in)
		return nil, out, err
	})
}

// restTool adds a tool that is exactly one REST call answering JSON: call
// builds the request from the input, and the answer decodes into Out.
func restTool[In, Out any](h *Handler, s *mcp.Server, t *mcp.Tool, call func(In) restCall) {
	addTool(s, t, func(ctx context.Context, who caller, in In) (Out, error) {
		var out Out
		err := h.doJSON(ctx, who, call(in), &out)
		return out, err
	})
}

// addTools registers every tool. The lead's checklist for a new route:
// an input struct, an output struct (or the REST model's fields the model
// needs), and a restTool call whose function returns the restCall.
func (h *Handler) addTools(s *mcp.Server) {
	restTool[createIn, Sandbox](h, s, &mcp.Tool{Name: "create_sandbox", Description: "Create a Linux sandbox and wait (up to 2 minutes) until it runs. " +
		"Returns its id and name; pass either as `sandbox` to the other tools."}, createSandbox)
	restTool[listIn, listOut](h, s, &mcp.Tool{Name: "list_sandboxes", Description: "List your sandboxes, newest first."}, listSandboxes)
	addTool(s, &mcp.Tool{Name: "delete_sandbox", Description: "Delete a sandbox and everything in it."}, h.deleteSandbox)
	addTool(s, &mcp.Tool{Name: "exec", Description: "Run a command in a sandbox and wait for it: `command` is a shell script (sh -c), " +
		"or give `argv` to run a program without a shell. Returns stdout, stderr and the exit code."}, h.exec)
	addTool(s, &mcp.Tool{Name: "read_file", Description: "Read a file of a sandbox: UTF-8 text, or base64 when it is not text. " +
		"Large files are cut (truncated is set)."}, h.readFile)
	addTool(s, &mcp.Tool{Name: "write_file", Description: "Write a file in a sandbox, creating its parent directories and replacing " +
		"what was there."}, h.writeFile)
	restTool[listFilesIn, fileList](h, s, &mcp.Tool{Name: "list_files", Description: "List a directory of a sandbox."}, listFiles)
	restTool[runCodeIn, map[string]any](h, s, &mcp.Tool{Name: "run_code", Description: "Run code in a persistent interpreter in a sandbox " +
		"(python, javascript or bash): variables survive between calls in the same context. Returns stdout, stderr, rich results " +
		"(text/plain of the last expression, text/html, image/png …) and a structured error (name, value, traceback) when the code raised."}, runCode)
	restTool[previewIn, map[string]any](h, s, &mcp.Tool{Name: "get_preview_url", Description: "Get a signed, expiring URL that reaches " +
		"an HTTP server listening on a port inside a sandbox (opens the port for the preview proxy if needed); it works in a browser."}, previewURL)
}

type previewIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's id or name"`
	Port    int    `json:"port" jsonschema:"the port the server listens on inside the sandbox"`
	TTL     string `json:"ttl,omitempty" jsonschema:"how long the link works, e.g. 30m or 24h (default 1h)"`
}

func previewURL(in previewIn) restCall {
	body := map[string]any{"port": in.Port}
	if in.TTL != "" {
		body["ttl"] = in.TTL
	}
	return restCall{Method: http.MethodPost, Path: sandboxPath(in.Sandbox, "/preview-urls"), JSON: body}
}

type runCodeIn struct {
	Sandbox        string `json:"sandbox" jsonschema:"the sandbox's id or name"`
	Code           string `json:"code" jsonschema:"the code to run"`
	Language       string `json:"language,omitempty" jsonschema:"python (default), javascript or bash"`
	Context        string `json:"context,omitempty" jsonschema:"a code context's id; absent: the sandbox's default context for the language"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"interrupt the code after this many seconds (default 60); the context keeps its state"`
}

func runCode(in runCodeIn) restCall {
	body := map[string]any{"code": in.Code}
	if in.Language == "" && in.Context == "" {
		in.Language = "python"
	}
	if in.Language != "" {
		body["language"] = in.Language
	}
	if in.Context != "" {
		body["context"] = in.Context
	}
	if in.TimeoutSeconds > 0 {
		body["timeout_seconds"] = in.TimeoutSeconds
	}
	return restCall{Method: http.MethodPost, Path: sandboxPath(in.Sandbox, "/code/run"), JSON: body}
}

// Sandbox is what the tools report of a sandbox.
type Sandbox struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Status    string     `json:"status" jsonschema:"pending, starting, running, stopping, stopped, failed or deleting"`
	Reason    string     `json:"reason,omitempty" jsonschema:"why it failed or stopped"`
	Image     string     `json:"image"`
	CPU       float64    `json:"cpu"`
	Memory    string     `json:"memory"`
	Network   string     `json:"network"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" jsonschema:"when its TTL deletes it"`
}

type createIn struct {
	Image   string            `json:"image,omitempty" jsonschema:"image reference (default codepod/base:latest, Debian with Python 3)"`
	Name    string            `json:"name,omitempty" jsonschema:"1-63 lowercase letters, digits or '-'; generated when absent"`
	Memory  string            `json:"memory,omitempty" jsonschema:"memory limit, e.g. 512m or 2g"`
	CPU     float64           `json:"cpu,omitempty" jsonschema:"CPU cores, may be fractional"`
	TTL     string            `json:"ttl,omitempty" jsonschema:"lifetime such as 30m or 2h, after which it is deleted"`
	Network string            `json:"network,omitempty" jsonschema:"none (loopback only, the default) or bridge (outbound access)"`
	Env     map[string]string `json:"env,omitempty" jsonschema:"environment variables of every process"`
}

func createSandbox(in createIn) restCall {
	body := map[string]any{}
	for k, v := range map[string]string{"image": in.Image, "name": in.Name, "memory": in.Memory, "ttl": in.TTL, "network": in.Network} {
		if v != "" {
			body[k] = v
		}
	}
	if in.CPU > 0 {
		body["cpu"] = in.CPU
	}
	if len(in.Env) > 0 {
		body["env"] = in.Env
	}
	return restCall{Method: http.MethodPost, Path: "/api/v1/sandboxes", Query: url.Values{"wait": {"2m"}}, JSON: body}
}

type listIn struct {
	Status string `json:"status,omitempty" jsonschema:"only these statuses, comma-separated (e.g. running,stopped)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

type listOut struct {
	Sandboxes  []Sandbox `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty" jsonschema:"pass as cursor for the next page; empty on the last"`
}

func listSandboxes(in listIn) restCall {
	q := url.Values{}
	if in.Status != "" {
		q.Set("status", in.Status)
	}
	if in.Cursor != "" {
		q.Set("cursor", in.Cursor)
	}
	return restCall{Method: http.MethodGet, Path: "/api/v1/sandboxes", Query: q}
}

type sandboxIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's id or name"`
}

type deleteOut struct {
	Deleted string `json:"deleted"`
}

func (h *Handler) deleteSandbox(ctx context.Context, who caller, in sandboxIn) (deleteOut, error) {
	err := h.doJSON(ctx, who, restCall{Method: http.MethodDelete, Path: sandboxPath(in.Sandbox, "")}, nil)
	return deleteOut{Deleted: in.Sandbox}, err
}

type listFilesIn struct {
	Sandbox string `json:"sandbox" jsonschema:"the sandbox's id or name"`
	Path    string `json:"path,omitempty" jsonschema:"directory; relative paths start in the home (default: the home)"`
	Cursor  string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

type fileList struct {
	Path    string `json:"path"`
	Entries []struct {
		Name  string    `json:"name"`
		Type  string    `json:"type" jsonschema:"file, dir, symlink or other"`
		Size  int64     `json:"size"`
		Mode  string    `json:"mode_string"`
		Mtime time.Time `json:"mtime"`
	} `json:"entries"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func listFiles(in listFilesIn) restCall {
	q := url.Values{"path": {in.Path}}
	if in.Path == "" {
		q.Set("path", ".")
	}
	if in.Cursor != "" {
		q.Set("cursor", in.Cursor)
	}
	return restCall{Method: http.MethodGet, Path: sandboxPath(in.Sandbox, "/files/list"), Query: q}
}
