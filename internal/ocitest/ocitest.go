// Package ocitest runs an OCI registry in the test process, on loopback,
// and pushes devcontainer features to it the way `devcontainer features
// publish` does (an OCI manifest whose one layer is the feature's folder as
// a tar of media type application/vnd.devcontainers.layer.v1+tar).
package ocitest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is an in-memory registry serving on 127.0.0.1.
type Registry struct {
	// Host is "localhost:PORT", the registry part of references to it.
	Host string
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD /path" of every request
}

// Start starts a registry that stops when the test ends.
func Start(t testing.TB) *Registry {
	t.Helper()
	r := &Registry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	_, port, _ := net.SplitHostPort(r.srv.Listener.Addr().String())
	r.Host = "localhost:" + port
	return r
}

// Close stops the registry (to test what happens when it is unreachable).
func (r *Registry) Close() { r.srv.Close() }

// Requests counts the requests so far with that method whose path
// contains s.
func (r *Registry) Requests(method, s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.reqs {
		m, p, _ := strings.Cut(q, " ")
		if m == method && strings.Contains(p, s) {
			n++
		}
	}
	return n
}

// PushFeature pushes files (slash paths → contents; *.sh executable) as
// the feature repo:tag ("features/hello:1") and returns the manifest's
// and the layer's digests.
func (r *Registry) PushFeature(t testing.TB, repoTag string, files map[string]string) (manifest, layer v1.Hash) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mode := int64(0o644)
		if strings.HasSuffix(n, ".sh") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: "./" + n, Mode: mode, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l := static.NewLayer(buf.Bytes(), "application/vnd.devcontainers.layer.v1+tar")
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, "application/vnd.devcontainers")
	img, err := mutate.Append(img, mutate.Addendum{Layer: l, MediaType: "application/vnd.devcontainers.layer.v1+tar",
		Annotations: map[string]string{"org.opencontainers.image.title": "devcontainer-feature.tgz"}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	if manifest, err = img.Digest(); err != nil {
		t.Fatal(err)
	}
	if layer, err = l.Digest(); err != nil {
		t.Fatal(err)
	}
	return manifest, layer
}
