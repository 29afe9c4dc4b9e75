// Package oci fetches devcontainer features from OCI registries (the
// devcontainer.FeatureSource the CLI and the Go SDK use).
package oci

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/codepod-dev/codepod/devcontainer"
)

// FeatureLayerMediaType is the media type of a devcontainer feature's
// layer in its OCI artifact (a tar of the feature's folder).
const FeatureLayerMediaType = "application/vnd.devcontainers.layer.v1+tar"

// FeatureFetcher fetches OCI features ("ghcr.io/devcontainers/features/go:1")
// from their registry on the machine resolving the config (the CLI's or
// the SDK caller's), and keeps them in CacheDir by manifest digest: a
// feature named by digest (in the reference or in devcontainer-lock.json)
// that is in the cache is used without reaching the registry.
type FeatureFetcher struct {
	// CacheDir holds the fetched features; "" is
	// $XDG_CACHE_HOME/codepod/features (~/.cache/codepod/features).
	CacheDir string
	// Transport reaches the registries; nil is ggcr's default transport
	// (proxies from the environment). Plain HTTP is allowed only to a
	// loopback registry (localhost, 127.0.0.0/8, ::1) whatever it is.
	Transport http.RoundTripper
	// Keychain gives registry credentials; nil is the docker CLI's
	// ~/.docker/config.json (anonymous when it has none for the registry).
	Keychain authn.Keychain
	// Log, when set, is told what is fetched and what comes from the cache.
	Log func(format string, args ...any)
}

func (f *FeatureFetcher) logf(format string, args ...any) {
	if f != nil && f.Log != nil {
		f.Log(format, args...)
	}
}

func (f *FeatureFetcher) cacheDir() (string, error) {
	if f != nil && f.CacheDir != "" {
		return f.CacheDir, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for OCI features: %w", err)
	}
	return filepath.Join(d, "codepod", "features"), nil
}

func (f *FeatureFetcher) options(ctx context.Context) []remote.Option {
	var rt http.RoundTripper = remote.DefaultTransport
	var kc authn.Keychain = authn.DefaultKeychain
	if f != nil && f.Transport != nil {
		rt = f.Transport
	}
	if f != nil && f.Keychain != nil {
		kc = f.Keychain
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(loopbackOnlyHTTP{rt}), remote.WithAuthFromKeychain(kc)}
}

// loopbackOnlyHTTP refuses plain-HTTP requests to anything but a loopback
// host: ggcr would otherwise fall back to HTTP for private (RFC 1918) and
// .local registries too.
type loopbackOnlyHTTP struct{ rt http.RoundTripper }

func (l loopbackOnlyHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !isLoopbackHost(r.URL.Hostname()) {
		return nil, fmt.Errorf("plain HTTP to %s refused: only a loopback registry (localhost, 127.0.0.1, ::1) is reached without TLS", r.URL.Host)
	}
	return l.rt.RoundTrip(r)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Fetch resolves ref (pinned to the lockfile's entry when it has one) and
// returns the feature's folder, from the cache when it holds that digest.
func (f *FeatureFetcher) Fetch(ctx context.Context, ref string, pin *devcontainer.LockedFeature) (*devcontainer.FetchedFeature, error) {
	parsed, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("feature %q: not a registry reference (registry/path:tag or registry/path@sha256:…): %w", ref, err)
	}
	registry := parsed.Context().RegistryStr()
	fail := func(err error) error {
		return fmt.Errorf("feature %q: cannot fetch it from the registry %s: %w; "+
			"CodePod fetches OCI features on this machine (as the devcontainer CLI does), so the registry must be reachable from here "+
			"(or the feature in the cache, pinned by digest in the reference or in devcontainer-lock.json); "+
			"without a registry, copy the feature's folder into .devcontainer/ and name it \"./%s\"", ref, registry, err, devcontainer.FeatureShortName(ref))
	}
	cache, err := f.cacheDir()
	if err != nil {
		return nil, err
	}
	opts := f.options(ctx)
	var dg name.Digest
	wantLayer := ""
	switch {
	case pin != nil && pin.Resolved != "":
		if dg, err = name.NewDigest(pin.Resolved, name.WeakValidation); err != nil {
			return nil, fmt.Errorf("feature %q: devcontainer-lock.json's \"resolved\" %q: %w", ref, pin.Resolved, err)
		}
		wantLayer = pin.Integrity
	default:
		if d, ok := parsed.(name.Digest); ok {
			dg = d
		} else {
			desc, err := remote.Head(parsed, opts...)
			if err != nil {
				return nil, fail(err)
			}
			dg = parsed.Context().Digest(desc.Digest.String())
		}
	}
	dir := filepath.Join(cache, strings.ReplaceAll(dg.DigestStr(), ":", "-"))
	if layer, err := os.ReadFile(filepath.Join(dir, "layer")); err == nil {
		if wantLayer != "" && string(layer) != wantLayer {
			return nil, fmt.Errorf("feature %q: the cached %s has the layer %s, devcontainer-lock.json says %s: remove %s", ref, dg.DigestStr(), layer, wantLayer, dir)
		}
		f.logf("feature %s: %s (cached)", ref, dg.DigestStr())
		return &devcontainer.FetchedFeature{Folder: filepath.Join(dir, "feature"), Resolved: dg.String(), Integrity: string(layer)}, nil
	}
	desc, err := remote.Get(dg, opts...)
	if err != nil {
		return nil, fail(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("feature %q: the registry's manifest %s: %w", ref, dg.DigestStr(), err)
	}
	var layer *v1.Descriptor
	for i, l := range m.Layers {
		if string(l.MediaType) == FeatureLayerMediaType {
			layer = &m.Layers[i]
			break
		}
	}
	if layer == nil {
		return nil, fmt.Errorf("feature %q: %s is not a devcontainer feature: its manifest has no layer of type %s", ref, dg, FeatureLayerMediaType)
	}
	if wantLayer != "" && layer.Digest.String() != wantLayer {
		return nil, fmt.Errorf("feature %q: %s has the layer %s, devcontainer-lock.json's \"integrity\" says %s: the artifact changed since it was locked", ref, dg, layer.Digest, wantLayer)
	}
	l, err := remote.Layer(parsed.Context().Digest(layer.Digest.String()), opts...)
	if err != nil {
		return nil, fail(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fail(err)
	}
	defer rc.Close()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cache, ".fetch-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	h := sha256.New()
	if err := extractFeature(io.TeeReader(rc, h), filepath.Join(tmp, "feature")); err != nil {
		return nil, fmt.Errorf("feature %q: its layer %s: %w", ref, layer.Digest, err)
	}
	io.Copy(h, rc) // the tar's padding, for the digest
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != layer.Digest.String() {
		return nil, fmt.Errorf("feature %q: the registry sent a layer hashing to %s, not %s", ref, got, layer.Digest)
	}
	if err := os.WriteFile(filepath.Join(tmp, "layer"), []byte(layer.Digest.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(filepath.Join(dir, "layer")); serr != nil { // not a concurrent fetch of the same digest
			return nil, err
		}
	}
	f.logf("feature %s: %s fetched from %s", ref, dg.DigestStr(), registry)
	return &devcontainer.FetchedFeature{Folder: filepath.Join(dir, "feature"), Resolved: dg.String(), Integrity: layer.Digest.String()}, nil
}

// extractFeature unpacks a feature's layer (a tar, or a gzipped one) into
// dir: regular files, folders, and symbolic links that stay inside it.
func extractFeature(r io.Reader, dir string) error {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		src = zr
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Every write goes through an os.Root: a link the layer made earlier
	// ("l" → ".", then "a" → "l/..") cannot carry a later entry outside.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rel := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if rel == "." {
			continue
		}
		if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("entry %q leaves the feature's folder", h.Name)
		}
		p := filepath.FromSlash(rel)
		if d := filepath.Dir(p); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			out, err := root.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(h.Mode)&0o755|0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			target := path.Join(path.Dir(rel), h.Linkname)
			if path.IsAbs(h.Linkname) || target == ".." || strings.HasPrefix(target, "../") {
				return fmt.Errorf("symbolic link %q → %q leaves the feature's folder", h.Name, h.Linkname)
			}
			if err := root.Symlink(h.Linkname, p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q: type %q is not a file, folder or symbolic link", h.Name, h.Typeflag)
		}
	}
	return nil
}
