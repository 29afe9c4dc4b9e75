package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codepod-dev/codepod/wire"
)

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (e *env) putBlob(key, digest string, body []byte) *resp {
	e.tb.Helper()
	req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/blobs/"+digest, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-tar")
	req.Header.Set("Authorization", "Bearer "+key)
	return e.send(req)
}

// TestBlobs: uploads are checked against their digest and the server's
// limit, HEAD tells whether to skip one, they are visible to their owner
// only (another user can neither HEAD nor name one in a create), and a
// runner reads one only through a sandbox placed on it that names it.
func TestBlobs(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.newUser("ada@example.com", false), e.newUser("bob@example.com", false)
	ctxTar := []byte(strings.Repeat("build context ", 100))
	d := digestOf(ctxTar)

	e.do("HEAD", "/api/v1/blobs/"+d, ada, nil).want(t, http.StatusNotFound)
	wantProblem(t, e.putBlob(ada, d, append(ctxTar, 'x')), http.StatusUnprocessableEntity) // the digest says otherwise
	e.do("HEAD", "/api/v1/blobs/"+d, ada, nil).want(t, http.StatusNotFound)                // and nothing was kept
	wantProblem(t, e.putBlob(ada, "sha256:nothex", ctxTar), http.StatusUnprocessableEntity)
	big := bytes.Repeat([]byte{1}, 1<<20+1)
	if r := e.putBlob(ada, digestOf(big), big); r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.str("detail"), "limit") {
		t.Fatalf("over the limit: %d %s", r.Status, r.Body)
	}

	e.putBlob(ada, d, ctxTar).want(t, http.StatusOK)
	if r := e.do("HEAD", "/api/v1/blobs/"+d, ada, nil).want(t, http.StatusNoContent); r.Header.Get("CodePod-Blob-Size") != "1400" {
		t.Errorf("HEAD CodePod-Blob-Size %q", r.Header.Get("CodePod-Blob-Size"))
	}
	e.do("HEAD", "/api/v1/blobs/"+d, bob, nil).want(t, http.StatusNotFound) // owner-scoped

	build := map[string]any{"name": "dev", "build": map[string]any{"context": d, "dockerfile": "Dockerfile", "args": map[string]string{"V": "1"}}}
	r := e.do("POST", "/api/v1/sandboxes", bob, build)
	wantProblem(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.str("detail"), "is not uploaded") {
		t.Errorf("bob naming ada's blob: %s", r.Body)
	}
	wantProblem(t, e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"build": map[string]any{"context": d, "dockerfile": "../Dockerfile"}}), http.StatusUnprocessableEntity)

	tok := e.do("POST", "/api/v1/runner-tokens", e.adminKey, nil).want(t, http.StatusCreated).str("token")
	var reg wire.RegisterResponse
	e.do("POST", "/api/v1/runners/register", tok, wire.RegisterRequest{Name: "r1", Capacity: wire.Capacity{Sandboxes: 4}}).want(t, http.StatusCreated).decode(t, &reg)
	sb := e.do("POST", "/api/v1/sandboxes", ada, build).want(t, http.StatusCreated)
	if img := sb.str("image"); !strings.HasPrefix(img, "codepod-build:") {
		t.Fatalf("a build's image is %q, want its content-hash tag", img)
	}
	job := pollFor(t, e, reg.Credential, sb.str("id"))
	if job.Sandbox.Build == nil || job.Sandbox.Build.Context != d || job.Sandbox.Build.Args["V"] != "1" || job.Sandbox.Image != sb.str("image") {
		t.Fatalf("create job's build: %+v", job.Sandbox)
	}
	fetch := func(key, digest, sandbox string) *resp {
		return e.do("GET", "/api/v1/runners/blobs/"+digest+"?sandbox="+sandbox, key, nil)
	}
	if r := fetch(reg.Credential, d, sb.str("id")).want(t, http.StatusOK); !bytes.Equal(r.Body, ctxTar) {
		t.Fatalf("runner fetched %d bytes", len(r.Body))
	}
	other := digestOf([]byte("other"))
	e.putBlob(ada, other, []byte("other")).want(t, http.StatusOK)
	wantProblem(t, fetch(reg.Credential, other, sb.str("id")), http.StatusNotFound) // not named by the sandbox
	wantProblem(t, fetch(reg.Credential, d, "sb_nope"), http.StatusNotFound)
	fetch(ada, d, sb.str("id")).want(t, http.StatusUnauthorized) // users cannot use the runner route

	// The same build again names the same image: the runner's cache.
	sb2 := e.do("POST", "/api/v1/sandboxes", ada, map[string]any{"name": "dev2", "build": build["build"]}).want(t, http.StatusCreated)
	if sb2.str("image") != sb.str("image") {
		t.Errorf("same build, different tags: %s %s", sb.str("image"), sb2.str("image"))
	}

	// Collection: blobs unused for the grace period go unless a live
	// sandbox names them.
	old := time.Now().Add(-48 * time.Hour)
	filepath.Walk(filepath.Join(e.dataDir, "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	n, err := e.api.CollectBlobs(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("CollectBlobs removed %d (%v), want 1 (the blob no sandbox names)", n, err)
	}
	e.do("HEAD", "/api/v1/blobs/"+d, ada, nil).want(t, http.StatusNoContent)
	e.do("HEAD", "/api/v1/blobs/"+other, ada, nil).want(t, http.StatusNotFound)
}
