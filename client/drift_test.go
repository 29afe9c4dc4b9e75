package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/codepod-dev/codepod/internal/testenv"
)

// TestClientUpToDate regenerates the client from the committed openapi.yaml
// with the pinned oapi-codegen and fails when client.gen.go differs.
func TestClientUpToDate(t *testing.T) {
	root := testenv.RepoRoot()
	out := filepath.Join(t.TempDir(), "client.gen.go")
	cfg, err := os.ReadFile(filepath.Join(root, "client", "oapi-codegen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("output: client/client.gen.go"), []byte("output: "+out), 1)
	cfgPath := filepath.Join(t.TempDir(), "oapi-codegen.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "-modfile=tools/go.mod", "oapi-codegen", "-config", cfgPath, "openapi.yaml")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "client", "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("client/client.gen.go is out of date with openapi.yaml: run `go tool -modfile=tools/go.mod task client`")
	}
}
