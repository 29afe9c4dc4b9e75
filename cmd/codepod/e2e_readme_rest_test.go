package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeRESTBlock returns the ```sh block that follows "The same through the
// REST API:" in the repository's README.md.
func readmeRESTBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "The same through the REST API:")
	if !ok {
		t.Fatal(`README.md has no "The same through the REST API:" paragraph`)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("README.md's REST paragraph has no ```sh block")
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatal("README.md's REST block does not end")
	}
	return block
}

// TestReadmeRESTBlock runs README.md's REST block verbatim with bash against
// a real server and runner on codepod/tiny. Only the server's address is
// substituted (http://localhost:3000 → the test server's URL); the admin
// key is where the block reads it, ~/.local/share/codepod/admin-api-key,
// under a HOME of the test's own.
func TestReadmeRESTBlock(t *testing.T) {
	block := readmeRESTBlock(t)
	if !strings.Contains(block, "http://localhost:3000") {
		t.Fatal("README.md's REST block does not name http://localhost:3000; update this test's substitution")
	}
	c := newCluster(t)
	c.startRunner("r1", t.TempDir())
	home := t.TempDir()
	keyFile := filepath.Join(home, ".local", "share", "codepod", "admin-api-key")
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(c.AdminKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(block, "http://localhost:3000", c.URL)
	r := runCmd(t, strings.NewReader(script), append(baseEnv(), "HOME="+home), "bash", "-s")
	if r.code != 0 {
		t.Fatalf("the README's REST block exits %d\nscript:\n%s\nstdout: %s\nstderr: %s", r.code, script, r.stdout, r.stderr)
	}

	// Each curl prints one JSON document: create, list, exec, delete.
	var docs []map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.stdout))
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the block's output is not JSON documents: %v\n%s", err, r.stdout)
		}
		docs = append(docs, d)
	}
	if len(docs) != 4 {
		t.Fatalf("the block printed %d JSON documents; want 4 (create, list, exec, delete):\n%s", len(docs), r.stdout)
	}
	if create := docs[0]; create["name"] != "box" || create["status"] != "running" {
		t.Errorf("create ?wait=60s answered %v; want box, running", create)
	}
	if items, _ := docs[1]["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "box" {
		t.Errorf("list answered %v; want box alone", docs[1])
	}
	if ex := docs[2]; ex["exit_code"] != 0.0 || ex["stdout"] != "hi\n" || ex["stderr"] != "" {
		t.Errorf("exec answered %v; want exit_code 0, stdout \"hi\\n\"", ex)
	}
	if del := docs[3]; del["name"] != "box" || (del["status"] != "deleting" && del["status"] != "deleted") {
		t.Errorf("delete answered %v; want box, deleting", del)
	}
}
