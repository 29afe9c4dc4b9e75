package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

// featuresDockerfile is the name of the Dockerfile the runner generates to
// install a build's features, added to the build context.
const featuresDockerfile = ".codepod-features.Dockerfile"

// FeaturesContextDir is where clients put local features' folders in a
// build context (devcontainer.PlanBuild).
const FeaturesContextDir = ".codepod-features"

// featuresRoot is where features' files are copied while they install.
const featuresRoot = "/tmp/codepod-features"

// buildImage makes p.Image (a build's content-hash tag) local: nothing to
// do when this runner built it before (the cache), else it fetches the
// context from the server and builds the Dockerfile (if any), then the
// features on top. Concurrent creates of the same tag share one build.
func (r *Runner) buildImage(ctx context.Context, p *wire.SandboxPayload, progress func(string)) error {
	ib, ok := r.cfg.Backend.(ImageBuilder)
	if !ok {
		return codepod.Errorf(codepod.EINVALID, "this runner's backend cannot build images; give an image instead of a build")
	}
	if id, err := ib.ImageID(ctx, p.Image); err != nil {
		return err
	} else if id != "" {
		progress("image " + p.Image + " was built before: using it (no rebuild)")
		return nil
	}
	ch := r.builds.DoChan(p.Image, func() (any, error) {
		return nil, r.build(ctx, ib, p, progress)
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res := <-ch:
		if res.Shared {
			progress("image " + p.Image + " built by another create")
		}
		return res.Err
	}
}

func (r *Runner) build(ctx context.Context, ib ImageBuilder, p *wire.SandboxPayload, progress func(string)) error {
	b := p.Build
	progress("fetching the build context " + short(b.Context))
	ctxPath, err := r.fetchBlob(ctx, p.ID, b.Context)
	if err != nil {
		return err
	}
	defer os.Remove(ctxPath) // the image is the cache from now on
	netMode := "none"
	if p.Network == codepod.NetworkBridge {
		netMode = "default"
	}
	req := BuildRequest{ContextPath: ctxPath, NetworkMode: netMode, CPU: p.CPU, MemoryBytes: p.MemoryBytes, CacheFrom: b.CacheFrom}
	base := b.Image
	if b.Dockerfile != "" {
		base = p.Image
		if len(b.Features) > 0 {
			base += "-base"
		}
		req.Tag, req.Dockerfile, req.Args, req.Target = base, b.Dockerfile, b.Args, b.Target
		if len(b.Features) > 0 {
			req.DropPrefix = FeaturesContextDir // the Dockerfile sees the user's context only
		}
		r.log.Info("building image", "sandbox_id", p.ID, "image", base)
		progress("building the image from " + b.Dockerfile)
		if err := ib.BuildImage(ctx, req, func(s string) { progress("build: " + s) }); err != nil {
			return err
		}
	} else if err := r.cfg.Backend.EnsureImage(ctx, base, progress); err != nil {
		return err
	}
	if len(b.Features) == 0 {
		return nil
	}
	user := ""
	if u, ok := ib.(interface {
		ImageUser(context.Context, string) (string, error)
	}); ok {
		if user, err = u.ImageUser(ctx, base); err != nil {
			return err
		}
	}
	req = BuildRequest{Tag: p.Image, ContextPath: ctxPath, NetworkMode: netMode, CPU: p.CPU, MemoryBytes: p.MemoryBytes,
		ExtraFile: featuresDockerfile, ExtraContent: []byte(FeaturesDockerfile(base, user, b.Features)), Dockerfile: featuresDockerfile}
	r.log.Info("installing features", "sandbox_id", p.ID, "image", p.Image, "features", len(b.Features))
	progress(fmt.Sprintf("installing %d feature(s)", len(b.Features)))
	return ib.BuildImage(ctx, req, func(s string) { progress("features: " + s) })
}

// FeaturesDockerfile installs features on base, in order, the way the
// reference CLI does: each feature's folder copied in, its install.sh run
// as root with its options as environment variables, its containerEnv set
// with ENV (where ${VAR} refers to the image's environment), then the
// image's user restored.
func FeaturesDockerfile(base, user string, features []wire.FeaturePayload) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "FROM %s\nUSER root\n", base)
	for i, f := range features {
		dir := fmt.Sprintf("%s/%d", featuresRoot, i)
		fmt.Fprintf(&sb, "# feature %s\n", strings.ReplaceAll(f.ID, "\n", " "))
		fmt.Fprintf(&sb, "COPY [%q, %q]\n", strings.TrimSuffix(filepathToSlash(f.Dir), "/")+"/", dir+"/")
		var env []string
		for _, k := range sortedKeys(f.Env) {
			env = append(env, k+"="+shellQuote(f.Env[k]))
		}
		fmt.Fprintf(&sb, "RUN cd %s && chmod +x install.sh && env %s ./install.sh && cd / && rm -rf %s\n", dir, strings.Join(env, " "), dir)
		if len(f.ContainerEnv) > 0 {
			var kv []string
			for _, k := range sortedKeys(f.ContainerEnv) {
				kv = append(kv, k+"="+envQuote(f.ContainerEnv[k]))
			}
			fmt.Fprintf(&sb, "ENV %s\n", strings.Join(kv, " "))
		}
	}
	if user != "" && user != "root" && user != "0" {
		fmt.Fprintf(&sb, "USER %s\n", user)
	}
	return sb.String()
}

func filepathToSlash(p string) string { return strings.ReplaceAll(p, "\\", "/") }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// envQuote quotes s as a Dockerfile ENV value, keeping ${VAR} references.
func envQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return `"` + s + `"`
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}

// fetchBlob downloads the blob digest that sandbox id's spec names into
// <StateDir>/blobs/, checking its hash, and returns its path.
func (r *Runner) fetchBlob(ctx context.Context, sandboxID, digest string) (string, error) {
	if !codepod.ValidDigest(digest) {
		return "", fmt.Errorf("blob digest %q is not valid", digest)
	}
	dir := filepath.Join(r.cfg.StateDir, "blobs")
	if err := ensurePrivateDir(dir); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".fetch-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	u := r.cfg.Server + "/api/v1/runners/blobs/" + url.PathEscape(digest) + "?sandbox=" + url.QueryEscape(sandboxID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+r.credential())
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch blob %s from the server: %w", short(digest), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := statusError(resp)
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return "", codepod.Errorf(codepod.ENOTFOUND, "%s", se.Detail)
		}
		return "", fmt.Errorf("fetch blob %s: %w", short(digest), err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), resp.Body); err != nil {
		return "", fmt.Errorf("fetch blob %s: %w", short(digest), err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return "", fmt.Errorf("fetch blob %s: the server sent content whose digest is %s", short(digest), got)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// One file per fetch: two creates sharing a blob never remove each
	// other's.
	final := tmp.Name() + "-" + strings.TrimPrefix(digest, "sha256:")[:16]
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}
