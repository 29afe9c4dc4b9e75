package devcontainer

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Archive is a tar in a temporary file, named by its SHA-256: what a client
// uploads (PUT /api/v1/blobs/{Digest}) before a create that names it.
type Archive struct {
	Path   string // the temporary file; Remove it when done
	Digest string // "sha256:<hex>"
	Size   int64
}

// Remove deletes the archive's temporary file.
func (a *Archive) Remove() {
	if a != nil {
		os.Remove(a.Path)
	}
}

// BuildPlan is what a config asks the runner to build: a build context
// (the config's build.context with .dockerignore applied, plus the local
// features' folders) and where things are in it. Dockerfile and the
// features' Dir are slash paths inside the context. OCI features are
// fetched on this machine (see FeatureSource and devcontainer/oci) and packed like local ones.
type BuildPlan struct {
	Context    *Archive
	Dockerfile string // "" when Image is the base (features on an image)
	Args       map[string]string
	Target     string
	CacheFrom  []string
	Image      string
	Features   []PlannedFeature
}

// PlannedFeature is a feature as the runner installs it.
type PlannedFeature struct {
	ID           string // the config's reference, e.g. "./hello"
	Dir          string // its folder in the build context
	Env          map[string]string
	ContainerEnv map[string]string
}

// Folders the plan puts in the build context beside the user's files.
const (
	contextFeatures   = ".codepod-features"
	contextDockerfile = ".codepod.Dockerfile" // a Dockerfile from outside the context
)

// PlanBuild packs what configFile's (substituted) config c needs built,
// with features checked against p. It returns nil when c is a plain image
// without features: nothing to build.
func PlanBuild(configFile string, c *Config, p Policy) (*BuildPlan, error) {
	return PlanBuildContext(context.Background(), configFile, c, p, nil)
}

// PlanBuildContext is PlanBuild fetching OCI features with f (nil: the
// default cache and credentials) under ctx.
func PlanBuildContext(ctx context.Context, configFile string, c *Config, p Policy, f FeatureSource) (*BuildPlan, error) {
	features, err := ResolveFeaturesContext(ctx, configFile, c, p, f)
	if err != nil {
		return nil, err
	}
	if c.Build == nil && len(features) == 0 {
		return nil, nil
	}
	base := filepath.Dir(configFile)
	plan := &BuildPlan{Image: c.Image}
	var ctxDir, dockerfileAbs string
	if c.Build != nil && c.Build.Dockerfile != "" {
		b := c.Build
		plan.Image, plan.Args, plan.Target, plan.CacheFrom = "", b.Args, b.Target, b.CacheFrom
		ctxDir = filepath.Join(base, filepath.FromSlash(orDot(b.Context)))
		dockerfileAbs = filepath.Join(base, filepath.FromSlash(b.Dockerfile))
		if fi, err := os.Stat(dockerfileAbs); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("build.dockerfile %q: no such file at %s (it is relative to the folder of devcontainer.json)", b.Dockerfile, dockerfileAbs)
		}
		if fi, err := os.Stat(ctxDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("build.context %q: no such folder at %s (it is relative to the folder of devcontainer.json)", b.Context, ctxDir)
		}
		if rel, err := filepath.Rel(ctxDir, dockerfileAbs); err == nil && !strings.HasPrefix(rel, "..") {
			plan.Dockerfile = filepath.ToSlash(rel)
		} else {
			plan.Dockerfile = contextDockerfile
		}
	} else if c.Build != nil && c.Image == "" {
		return nil, fmt.Errorf("\"build\" needs a \"dockerfile\"")
	}
	if plan.Dockerfile == "" && plan.Image == "" {
		return nil, fmt.Errorf("no \"image\" and no \"build\": name an image or a Dockerfile")
	}
	var tw *tarFile
	if tw, err = newTarFile(); err != nil {
		return nil, err
	}
	defer tw.abort()
	if ctxDir != "" {
		skip, err := dockerignore(ctxDir, plan.Dockerfile)
		if err != nil {
			return nil, err
		}
		if err := tw.addDir(ctxDir, "", skip, true); err != nil {
			return nil, err
		}
		if plan.Dockerfile == contextDockerfile {
			if err := tw.addFile(dockerfileAbs, contextDockerfile, true); err != nil {
				return nil, err
			}
		}
	}
	for i, f := range features {
		dir := fmt.Sprintf("%s/%d", contextFeatures, i)
		if err := tw.addDir(f.Folder, dir, nil, true); err != nil {
			return nil, fmt.Errorf("feature %q: %w", f.Ref, err)
		}
		plan.Features = append(plan.Features, PlannedFeature{ID: f.Ref, Dir: dir, Env: f.Env, ContainerEnv: f.ContainerEnv})
	}
	if plan.Context, err = tw.finish(); err != nil {
		return nil, err
	}
	return plan, nil
}

func orDot(s string) string {
	if s == "" {
		return "."
	}
	return s
}

// dockerignore is a skip function for dir's .dockerignore (nil without
// one). The Dockerfile and .dockerignore are always sent, as docker does.
func dockerignore(dir, dockerfile string) (func(rel string, isDir bool) bool, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return matcher(patterns, ".dockerignore", dockerfile)
}

// matcher skips what patterns match (with their ! exceptions), except keep.
func matcher(patterns []string, keep ...string) (func(rel string, isDir bool) bool, error) {
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("ignore patterns: %w", err)
	}
	return func(rel string, isDir bool) bool {
		for _, k := range keep {
			if rel == k {
				return false
			}
		}
		m, err := pm.MatchesOrParentMatches(rel)
		if err != nil || !m {
			return false
		}
		// A directory with exceptions below it is walked; its entries
		// decide for themselves.
		return !(isDir && pm.Exclusions())
	}, nil
}

// PackWorkspace tars the project folder dir for the sandbox's
// workspaceFolder: everything, .git included (git works in the sandbox as
// on your machine), keeping modification times. With skipGitignored the
// patterns of dir/.gitignore (the top-level one) are left out, e.g. build
// outputs and node_modules.
func PackWorkspace(dir string, skipGitignored bool) (*Archive, error) {
	var skip func(string, bool) bool
	if skipGitignored {
		var err error
		if skip, err = gitignore(dir); err != nil {
			return nil, err
		}
	}
	tw, err := newTarFile()
	if err != nil {
		return nil, err
	}
	defer tw.abort()
	if err := tw.addDir(dir, "", skip, false); err != nil {
		return nil, err
	}
	return tw.finish()
}

// gitignore reads dir/.gitignore as patterns: one without a slash (but a
// trailing one) matches at any depth, as in git; .git itself is kept.
func gitignore(dir string) (func(string, bool) bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var patterns []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := strings.TrimPrefix(line, "!")
		p = strings.TrimSuffix(p, "/")
		if strings.HasPrefix(p, "/") {
			p = strings.TrimPrefix(p, "/")
		} else if !strings.Contains(p, "/") {
			p = "**/" + p
		}
		if neg {
			p = "!" + p
		}
		patterns = append(patterns, p)
	}
	m, err := matcher(patterns)
	if err != nil {
		return nil, err
	}
	return func(rel string, isDir bool) bool {
		return rel != ".git" && !strings.HasPrefix(rel, ".git/") && m(rel, isDir)
	}, nil
}

// tarFile writes a tar to a temporary file while hashing it.
type tarFile struct {
	f    *os.File
	h    hash.Hash
	n    int64
	tw   *tar.Writer
	done bool
}

func newTarFile() (*tarFile, error) {
	f, err := os.CreateTemp("", "codepod-upload-*.tar")
	if err != nil {
		return nil, err
	}
	t := &tarFile{f: f, h: sha256.New()}
	t.tw = tar.NewWriter(io.MultiWriter(f, t.h, counter{&t.n}))
	return t, nil
}

type counter struct{ n *int64 }

func (c counter) Write(p []byte) (int, error) { *c.n += int64(len(p)); return len(p), nil }

func (t *tarFile) abort() {
	if !t.done {
		t.f.Close()
		os.Remove(t.f.Name())
	}
}

func (t *tarFile) finish() (*Archive, error) {
	if err := t.tw.Close(); err != nil {
		return nil, err
	}
	if err := t.f.Close(); err != nil {
		return nil, err
	}
	t.done = true
	return &Archive{Path: t.f.Name(), Digest: "sha256:" + hex.EncodeToString(t.h.Sum(nil)), Size: t.n}, nil
}

// addDir adds dir's tree under prefix (sorted, so the same files make the
// same tar), leaving out what skip matches. deterministic zeroes times and
// owners, so the digest depends on names, modes and contents only.
func (t *tarFile) addDir(dir, prefix string, skip func(string, bool) bool, deterministic bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			if prefix != "" {
				return t.header(p, prefix, d, deterministic)
			}
			return nil
		}
		if skip != nil && skip(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return t.header(p, path.Join(prefix, rel), d, deterministic)
	})
}

func (t *tarFile) addFile(p, name string, deterministic bool) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	return t.header(p, name, fs.FileInfoToDirEntry(fi), deterministic)
}

func (t *tarFile) header(p, name string, d fs.DirEntry, deterministic bool) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case fi.Mode().IsRegular(), fi.IsDir():
	default:
		return nil // sockets, devices, pipes: not project files
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name = name
	if fi.IsDir() {
		h.Name += "/"
	}
	h.Format = tar.FormatPAX
	h.Uname, h.Gname, h.Uid, h.Gid = "", "", 0, 0
	if deterministic {
		h.ModTime, h.AccessTime, h.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
	} else {
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	}
	h.PAXRecords = nil
	if err := t.tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(t.tw, f, fi.Size()); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
