package api_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/codepod-dev/codepod/api"
	"github.com/codepod-dev/codepod/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite openapi.yaml from the registered operations")

func specPath() string { return filepath.Join(testenv.RepoRoot(), "openapi.yaml") }

// TestOpenAPIUpToDate fails when the committed spec drifts from the code.
func TestOpenAPIUpToDate(t *testing.T) {
	want, err := api.SpecYAML()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(specPath(), want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(specPath())
	if err != nil {
		t.Fatalf("read the committed spec: %v; run `go tool -modfile=tools/go.mod task openapi`", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("openapi.yaml is out of date with the API's operations: run `go tool -modfile=tools/go.mod task openapi` (or go test ./api -run TestOpenAPIUpToDate -update) and commit it")
	}
}

var kebab = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// TestOpenAPIValid loads the spec with kin-openapi and checks what
// generated clients rely on.
func TestOpenAPIValid(t *testing.T) {
	b, err := api.SpecYAML()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %s, want 3.0.3", doc.OpenAPI)
	}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if !kebab.MatchString(op.OperationID) || ids[op.OperationID] {
				t.Errorf("%s: operationId %q is not unique kebab-case", name, op.OperationID)
			}
			ids[op.OperationID] = true
			if wrapper := pascal(op.OperationID) + "Response"; doc.Components.Schemas[wrapper] != nil {
				t.Errorf("%s: schema %s clashes with the Go client's response type of %s", name, wrapper, op.OperationID)
			}
			if op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: needs a summary and a tag", name)
			}
			if strings.HasPrefix(path, api.Prefix) && !strings.HasSuffix(path, "/auth/login") && op.OperationID != "create-session" && (op.Security == nil || len(*op.Security) == 0) {
				t.Errorf("%s: no security requirement", name)
			}
			checkBodies(t, name, op)
		}
	}
	for _, want := range []string{"create-sandbox", "list-sandboxes", "get-sandbox", "delete-sandbox", "start-sandbox", "stop-sandbox",
		"create-ssh-token", "login", "get-me", "create-api-key", "register-runner", "poll-jobs", "report-job-result",
		"exec-sandbox", "exec-sandbox-stream", "download-file", "upload-file", "delete-file", "list-files", "make-directory",
		"download-archive", "upload-archive", "open-tunnel", "open-terminal", "connect-runner-tunnel"} {
		if !ids[want] {
			t.Errorf("no operation %s", want)
		}
	}
	if s := doc.Components.Schemas["Sandbox"]; s == nil || s.Value.Properties["ssh_secret"] != nil || s.Value.Properties["$schema"] != nil {
		t.Error("Sandbox schema missing, or it shows the SSH secret or $schema")
	}
}

// checkBodies requires typed request bodies and typed JSON responses; the
// files endpoints stream raw bytes instead, documented as binary strings.
func checkBodies(t *testing.T, name string, op *openapi3.Operation) {
	t.Helper()
	if rb := op.RequestBody; rb != nil {
		if mt := rb.Value.Content.Get("application/json"); (mt == nil || !typed(mt.Schema)) && !binary(rb.Value.Content) {
			t.Errorf("%s: request body has no typed JSON schema", name)
		}
	}
	for code, r := range op.Responses.Map() {
		for ct, mt := range r.Value.Content {
			if !typed(mt.Schema) {
				t.Errorf("%s: response %s %s has no typed schema", name, code, ct)
			}
		}
		if strings.HasPrefix(code, "2") && code != "204" && r.Value.Content.Get("application/json") == nil && !binary(r.Value.Content) {
			t.Errorf("%s: response %s has no JSON body", name, code)
		}
	}
}

// binary reports whether content is one raw byte stream: a string of
// format binary as octet-stream or tar.
func binary(content openapi3.Content) bool {
	if mt := content.Get("text/event-stream"); mt != nil && typed(mt.Schema) {
		return true // a stream of server-sent events
	}
	if mt := content.Get("application/jsonl"); mt != nil && typed(mt.Schema) {
		return true // JSON lines (the audit export)
	}
	for _, ct := range []string{"application/octet-stream", "application/x-tar"} {
		if mt := content.Get(ct); mt != nil && mt.Schema != nil && mt.Schema.Value != nil &&
			mt.Schema.Value.Type.Is("string") && mt.Schema.Value.Format == "binary" {
			return true
		}
	}
	return false
}

func typed(s *openapi3.SchemaRef) bool {
	return s != nil && (s.Ref != "" || (s.Value != nil && s.Value.Type != nil && len(*s.Value.Type) > 0))
}

// pascal turns "create-sandbox" into "CreateSandbox", as oapi-codegen does.
func pascal(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
