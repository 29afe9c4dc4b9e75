package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoopbackOnlyHTTP: plain HTTP reaches a loopback registry only; ggcr
// alone would also use it for private addresses and .local names.
func TestLoopbackOnlyHTTP(t *testing.T) {
	called := 0
	rt := loopbackOnlyHTTP{roundTripFunc(func(r *http.Request) (*http.Response, error) { called++; return &http.Response{StatusCode: 200}, nil })}
	for _, u := range []string{"http://192.168.1.10:5000/v2/", "http://registry.local/v2/", "http://10.0.0.1/v2/"} {
		req, _ := http.NewRequest("GET", u, nil)
		if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "plain HTTP to") {
			t.Errorf("%s: %v, want a refusal", u, err)
		}
	}
	for _, u := range []string{"http://localhost:5000/v2/", "http://127.0.0.1:5000/v2/", "http://[::1]:5000/v2/", "https://ghcr.io/v2/"} {
		req, _ := http.NewRequest("GET", u, nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if called != 4 {
		t.Errorf("%d requests passed, want 4", called)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestExtractFeatureStaysInside: a layer's entries and links cannot leave
// the feature's folder.
func TestExtractFeatureStaysInside(t *testing.T) {
	// Links that each stay inside but together lead out: "l" → ".", then
	// "a" → "l/.." is the folder's parent, and a file under "a/" would land
	// outside it.
	var chain bytes.Buffer
	tw := tar.NewWriter(&chain)
	tw.WriteHeader(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "."})
	tw.WriteHeader(&tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "l/.."})
	tw.WriteHeader(&tar.Header{Name: "a/escaped", Typeflag: tar.TypeReg, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	parent := t.TempDir()
	if err := extractFeature(&chain, filepath.Join(parent, "feature")); err == nil {
		t.Errorf("a chain of links carried a file out of the feature's folder")
	}
	if _, err := os.Lstat(filepath.Join(parent, "escaped")); err == nil {
		t.Errorf("a file was written outside the feature's folder")
	}

	for _, h := range []tar.Header{
		{Name: "../evil.sh", Typeflag: tar.TypeReg},
		{Name: "/etc/evil", Typeflag: tar.TypeReg},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"},
		{Name: "abs", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "dev", Typeflag: tar.TypeChar},
	} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&h)
		tw.Close()
		if err := extractFeature(&buf, t.TempDir()); err == nil {
			t.Errorf("%s (%c) was extracted", h.Name, h.Typeflag)
		}
	}
}

// TestExtractFeatureGzip: a gzipped layer (as some publishers write) is
// read too, executable bits kept.
func TestExtractFeatureGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "./install.sh", Mode: 0o755, Size: 10, Typeflag: tar.TypeReg})
	tw.Write([]byte("#!/bin/sh\n"))
	tw.Close()
	zw.Close()
	dir := t.TempDir()
	if err := extractFeature(&buf, dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "install.sh"))
	if err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("install.sh: %v, mode %v", err, fi)
	}
}
