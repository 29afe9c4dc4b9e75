package codepod

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// BuildSpec asks the runner to build the sandbox's image instead of
// pulling one: from a Dockerfile in an uploaded build context, and/or by
// installing local dev container features on top of a base image. The
// image is tagged by the spec's content hash (BuildSpec.Tag), so a second
// sandbox with the same context and settings reuses it without a rebuild;
// Normalize puts that tag in SandboxSpec.Image.
type BuildSpec struct {
	// Context is the digest ("sha256:<hex>") of the build context, a tar
	// uploaded with PUT /api/v1/blobs/{digest} by the sandbox's owner.
	Context string `json:"context"`
	// Dockerfile is the Dockerfile's path inside the context; "" with
	// Image set builds no Dockerfile (features go on top of Image).
	Dockerfile string            `json:"dockerfile,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Target     string            `json:"target,omitempty"`
	CacheFrom  []string          `json:"cache_from,omitempty"`
	// Image is the base image when there is no Dockerfile.
	Image string `json:"image,omitempty"`
	// Features are installed in order on top of the Dockerfile's image (or
	// Image), each as its own layer.
	Features []BuildFeature `json:"features,omitempty"`
}

// BuildFeature is one local dev container feature, resolved by the client:
// its files are in the build context under Dir.
type BuildFeature struct {
	ID  string `json:"id"`  // as devcontainer.json names it, e.g. "./features/hello"
	Dir string `json:"dir"` // its folder inside the context (holds install.sh)
	// Env is the feature's options as install.sh receives them: upper-cased
	// names, defaults filled in.
	Env map[string]string `json:"env,omitempty"`
	// ContainerEnv is baked into the image (ENV) after the feature's
	// install.sh ran.
	ContainerEnv map[string]string `json:"container_env,omitempty"`
}

// BuildImagePrefix names the images runners build (BuildSpec.Tag).
const BuildImagePrefix = "codepod-build"

var (
	digestRE      = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	buildTargetRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
)

// ValidDigest reports whether d is "sha256:" and 64 lowercase hex digits.
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

// Tag is the image reference the runner builds b as: a hash of everything
// that decides its content (context, Dockerfile, arguments, target, base
// image and features; not CacheFrom, which only speeds a build up).
func (b *BuildSpec) Tag() string {
	key := *b
	key.CacheFrom = nil
	raw, _ := json.Marshal(key) // maps marshal sorted: stable
	sum := sha256.Sum256(raw)
	return BuildImagePrefix + ":" + hex.EncodeToString(sum[:20])
}

// validate checks b; the error names the field.
func (b *BuildSpec) validate() error {
	if !ValidDigest(b.Context) {
		return Errorf(EINVALID, "build.context %q must be the sha256:<64 hex> digest of an uploaded tar (PUT /api/v1/blobs/{digest})", b.Context)
	}
	if b.Dockerfile == "" && b.Image == "" {
		return Errorf(EINVALID, "build needs a dockerfile (a path in the context) or an image to install features on")
	}
	if b.Dockerfile != "" && !relPath(b.Dockerfile) {
		return Errorf(EINVALID, "build.dockerfile %q must be a relative path inside the build context", b.Dockerfile)
	}
	if b.Image != "" && (!imageRE.MatchString(b.Image) || len(b.Image) > 255) {
		return Errorf(EINVALID, "build.image %q is not a valid image reference", b.Image)
	}
	if b.Target != "" && !buildTargetRE.MatchString(b.Target) {
		return Errorf(EINVALID, "build.target %q is not a valid stage name", b.Target)
	}
	for k := range b.Args {
		if !envNameRE.MatchString(k) {
			return Errorf(EINVALID, "build.args: %q is not a valid build argument name", k)
		}
	}
	for _, c := range b.CacheFrom {
		if !imageRE.MatchString(c) {
			return Errorf(EINVALID, "build.cache_from: %q is not a valid image reference", c)
		}
	}
	if len(b.Features) > 64 {
		return Errorf(EINVALID, "build.features: at most 64 features")
	}
	for i, f := range b.Features {
		if f.ID == "" || !relPath(f.Dir) {
			return Errorf(EINVALID, "build.features[%d] (%q): dir %q must be a relative path inside the build context", i, f.ID, f.Dir)
		}
		for _, m := range []map[string]string{f.Env, f.ContainerEnv} {
			for k := range m {
				if !envNameRE.MatchString(k) {
					return Errorf(EINVALID, "build.features[%d] (%q): %q is not a valid environment variable name", i, f.ID, k)
				}
			}
		}
	}
	return nil
}

// relPath reports whether p is a clean relative path that stays inside
// its root.
func relPath(p string) bool {
	c := path.Clean(p)
	return p != "" && !path.IsAbs(p) && c != ".." && !strings.HasPrefix(c, "../") && !strings.ContainsRune(p, 0)
}
